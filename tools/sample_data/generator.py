"""`generate()`: master data first, then one day at a time (true values -> faults -> files)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from foundation.months import add_months

from .calendar import day_types, load_holidays, span_days
from .contacts import build_contacts
from .contracts import build_contracts, presigned_contracts
from .faults import FAULT_TYPES, FaultPlan, FaultRates, make_plan, place_day
from .history import simulate_history, write_history
from .inject import CHANNELS, MISSING, FaultLog, Rows, inject
from .master import Fleet, build_customers, build_fleet, meter_rows, retailer_rows
from .profiles import LoadModel, expected_daily_kwh, plan_exceedances
from .registers import Registers, rollover_starts
from .spans import HISTORY_STREAM, TAIL_STREAM, clean_span
from .weather import FORECAST_DAYS, extended, load_factors, temperatures, write_weather
from .writer import (
    FAULT_COLUMNS,
    LandingWriter,
    clean_outputs,
    decimal_array,
    interval_start_text,
    write_manifest,
    write_rows_csv,
)

FORMATS = ("mixed", "csv", "parquet")


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _rollover_kwh(model: LoadModel, fleet: Fleet, plan: FaultPlan) -> dict[int, float]:
    """Expected primary kWh each rollover meter uses before its planned wrap read."""
    sums = model.shapes.sum(axis=2)
    until = {m: 0.0 for m in plan.rollover}
    for d in range(max(plan.rollover.values(), default=0)):
        daily = expected_daily_kwh(fleet, sums, model.days[d].month, int(model.day_type[d]))
        for m, wrap_day in plan.rollover.items():
            if d < wrap_day:
                until[m] += 0.97 * float(daily[m])
    return until


def _write_master(data_dir: Path, tables: dict[str, list[dict]]) -> list[str]:
    written = []
    for stem, rows in tables.items():
        write_rows_csv(data_dir / "master" / f"{stem}.csv", list(rows[0]), rows)
        written.append(f"master/{stem}.csv")
    return written


def _format_units(units: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    out = np.full(len(units), "", dtype=object)
    for scale in (2, 3):
        sel = (decimals == scale) & (units != MISSING)
        if sel.any():
            text = pc.cast(decimal_array(units[sel], scale), "string")
            out[sel] = text.to_numpy(zero_copy_only=False)
    return out


def _write_faults(path: Path, log: FaultLog, fleet: Fleet, read_days: list) -> dict[str, int]:
    cols = log.columns()
    ids = np.array([*fleet.meter_ids, ""], dtype=object)
    frame = pd.DataFrame({
        "fault_type": np.array(FAULT_TYPES, dtype=object)[cols["kind"]],
        "meter_id": ids[cols["meter"]],  # -1 -> "" (file-level fault)
        "channel": np.array([*CHANNELS, ""], dtype=object)[cols["channel"]],
        "interval_start": interval_start_text(read_days, cols["day"], cols["slot"]),
        "true_value": _format_units(cols["true"], cols["decimals"]),
        "injected_value": _format_units(cols["injected"], cols["decimals"]),
        "file_name": cols["file"],
    }, columns=list(FAULT_COLUMNS))
    frame = frame.sort_values(["meter_id", "channel", "interval_start", "fault_type"],
                              kind="stable")
    frame.to_csv(path, index=False, lineterminator="\n")
    return {t: int((frame["fault_type"] == t).sum()) for t in FAULT_TYPES}


def generate(data_dir: Path, meters: int, months: int, start: str, seed: int,
             fmt: str = "mixed", faults: bool = True, *, fault_rate_scale: float = 1.0,
             history_years: int = 0, landing: bool = True, presigned: int = 0,
             weather: bool = False, history_months: int = 0, tail_days: int = 0) -> dict:
    """Write master data, landing files and ground truth under `data_dir`; return the manifest.

    `history_years` > 0 also writes contract histories, service tickets and payments of that
    many years up to the month before `start`, ending with every generated customer active
    (history.py). `landing=False` writes the master data (and history) only: no reads, no
    register files, an empty faults.csv (the bench's analytics stage; the master data are the
    same as with landing files). `presigned` > 0 adds that many pre-signed contracts from the
    month after the first customers' current ones end (contracts.presigned_contracts).
    `weather` makes load depend on a generated temperature per region and writes it as
    landing `weather_*` files, observed and 35 days of forecast (weather.py); off, the data are
    the same as before it existed. `history_months` and `tail_days` add clean interval files
    (and weather) of the same meters for that many months before `start` and days after the
    months (spans.py); the generated months are the same with or without them.
    """
    if meters < 1 or months < 1:
        raise ValueError("meters and months must be positive")
    if history_months < 0 or not 0 <= tail_days <= FORECAST_DAYS:
        raise ValueError(f"history_months must be ≥ 0 and tail_days 0–{FORECAST_DAYS} (the "
                         f"weather forecast the tail continues), got {history_months}, "
                         f"{tail_days}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    data_dir = Path(data_dir)
    days = span_days(start, months)
    before = span_days(add_months(start, -history_months), history_months)
    after = [days[-1] + timedelta(days=k + 1) for k in range(tail_days)]
    read_days = [*days, days[-1] + timedelta(days=1)]
    holidays, holiday_source = load_holidays()
    types = day_types(days, holidays)
    valid_from = f"{min([days[0].year - 1, *(d.year for d in before[:1])])}-01-01"

    master_rng = _rng(seed, 1)
    customers = build_customers(master_rng, meters)
    fleet = build_fleet(master_rng, customers, meters)
    exceedances = plan_exceedances(_rng(seed, 2), fleet, days)
    temps = (temperatures(_rng(seed, 9), sorted({c.region for c in customers}), days[0],
                          len(days) + FORECAST_DAYS) if weather else None)
    factors = None
    if temps is not None:
        region_of = np.array([customers[i].region for i in fleet.customer_index])
        factors = load_factors(fleet.cls, np.stack([temps[r][: len(days)] for r in region_of]))
    model = LoadModel(seed, fleet, days, types, exceedances, factors)
    contracts, volumes = build_contracts(_rng(seed, 3), customers, fleet, model.shapes, start,
                                         months, holidays)
    if presigned > 0:
        signed, signed_volumes = presigned_contracts(
            contracts, volumes, sorted({c.retailer_id for c in customers}), presigned)
        contracts, volumes = contracts + signed, volumes + signed_volumes
    plan = make_plan(seed, len(days), months, fleet.exceeds,
                     FaultRates().scaled(fault_rate_scale), faults)
    registers = Registers(_rng(seed, 5), fleet,
                          rollover_starts(fleet, _rollover_kwh(model, fleet, plan)))

    clean_outputs(data_dir)
    files = _write_master(data_dir, {
        "retailers": retailer_rows(valid_from),
        "customers": [c.row(valid_from) for c in customers],
        "metering_points": meter_rows(fleet, customers, valid_from),
        "contracts": contracts, "contract_volumes": volumes,
        **build_contacts(_rng(seed, 4), customers),
    })
    if history_years > 0:
        history = simulate_history(_rng(seed, 6), [c.customer_id for c in customers],
                                   history_years, add_months(start, -1))
        files += write_history(data_dir, history)
    writer = LandingWriter(data_dir, fleet.meter_ids, fleet.multiplier, days, fmt)
    weather_files = (write_weather(data_dir, temps, days[0], len(days), _rng(seed, 10))
                     if temps is not None and landing else [])
    log, pending = FaultLog(), {}
    extra: dict[str, object] = {"late_file": None, "malformed_file": None}
    if not landing:
        return _finish(data_dir, log, fleet, read_days, {
            "seed": seed, "meters": meters, "months": months, "start": start, "format": fmt,
            "faults_enabled": False, "fault_rate_scale": fault_rate_scale, "landing": False,
            "first_day": days[0].isoformat(), "last_day": days[-1].isoformat(),
            "customers": len(customers), "holiday_source": holiday_source, **extra,
            "capacity_exceeders": [], "rollover_meters": [], "files": files,
            **({"history_years": history_years} if history_years > 0 else {}),
        })

    def read_registers(d: int) -> None:
        dial, unwrapped, wrapped = registers.read()
        name = writer.write_registers(read_days[d], dial)
        m, c = np.nonzero(wrapped)
        log.add("register_rollover", m, c, d, 0, unwrapped[m, c], dial[m, c], name, decimals=2)

    for d in range(len(days)):
        read_registers(d)
        true = np.stack(model.day(d), axis=1)  # meters x channel x interval, milli
        placed = place_day(seed, plan, d, len(days), meters, exceedances.get(d, []))
        out = inject(placed, d, true, fleet.kva_customer, _rng(seed, 1000 + d),
                     writer.file_name, log)
        for target, rows in out.carry.items():
            pending.setdefault(target, []).append(rows)
        writer.write_reads(writer.file_name(d), Rows.concat([out.regular, out.same_file,
                                                             *pending.pop(d, [])]))
        if plan.late is not None and plan.late[0] == d:
            _, m, later = plan.late
            name = f"reads_{days[later]:%Y%m%d}_90.csv"
            slots = np.arange(2 * true.shape[2])
            writer.write_reads(name, Rows.of(m, slots // 96, d, slots % 96, true[m].ravel()))
            log.add("late_file", -1, -1, d, 0, MISSING, MISSING, name)
            extra["late_file"] = {"file": name, "meter_id": fleet.meter_ids[m],
                                  "day": days[d].isoformat()}
        if plan.malformed_day == d:
            name = writer.write_malformed(d, out.regular)
            log.add("malformed_file", -1, -1, d, 0, MISSING, MISSING, name)
            extra["malformed_file"] = name
        registers.add(true.sum(axis=2))
    read_registers(len(days))
    spans = _clean_spans(data_dir, seed, fleet, customers, temps, days, before, after, holidays,
                         fmt)

    counts = _write_faults(data_dir / "ground_truth" / "faults.csv", log, fleet, read_days)
    manifest = {
        "seed": seed, "meters": meters, "months": months, "start": start, "format": fmt,
        "faults_enabled": faults, "fault_rate_scale": fault_rate_scale,
        "first_day": days[0].isoformat(), "last_day": days[-1].isoformat(),
        "customers": len(customers), "holiday_source": holiday_source,
        "fault_counts": counts, **extra,
        "capacity_exceeders": [fleet.meter_ids[m] for m in np.flatnonzero(fleet.exceeds)],
        "rollover_meters": [fleet.meter_ids[m] for m in sorted(plan.rollover)],
        "files": sorted([*files, *writer.written, *weather_files, *spans,
                         "ground_truth/faults.csv"]),
        **({"history_years": history_years} if history_years > 0 else {}),
        **({"clean_history": [before[0].isoformat(), before[-1].isoformat()]}
           if before else {}),
        **({"clean_tail": [after[0].isoformat(), after[-1].isoformat()]} if after else {}),
    }
    write_manifest(data_dir / "ground_truth" / "manifest.json", manifest)
    return manifest


def _clean_spans(data_dir: Path, seed: int, fleet: Fleet, customers: list, temps: dict | None,
                 days: list, history: list, tail: list, holidays: dict, fmt: str) -> list[str]:
    """The clean history before the months (a file a month) and days after them (a file a day)
    (spans.py): the history's weather from a stream of its own, the tail's the months' own
    forecast days, continued."""
    regions = [c.region for c in customers]
    files = []
    if history:
        hist_temps = (temperatures(_rng(seed, HISTORY_STREAM), sorted(set(regions)), history[0],
                                   len(history)) if temps is not None else None)
        files += clean_span(data_dir, seed, fleet, regions, history, holidays, fmt,
                            HISTORY_STREAM, hist_temps, forecast=False, monthly=True)
    if tail:
        tail_temps = None
        if temps is not None:
            tail_temps = {r: v[len(days):] for r, v in extended(
                temps, days[0], len(tail), _rng(seed, TAIL_STREAM)).items()}
        files += clean_span(data_dir, seed, fleet, regions, tail, holidays, fmt, TAIL_STREAM,
                            tail_temps, forecast=True)
    return files


def _finish(data_dir: Path, log: FaultLog, fleet: Fleet, read_days: list, manifest: dict) -> dict:
    """The manifest of a run without landing files: an empty faults.csv, its counts (0)."""
    counts = _write_faults(data_dir / "ground_truth" / "faults.csv", log, fleet, read_days)
    manifest = {**manifest, "fault_counts": counts,
                "files": sorted([*manifest["files"], "ground_truth/faults.csv"])}
    write_manifest(data_dir / "ground_truth" / "manifest.json", manifest)
    return manifest
