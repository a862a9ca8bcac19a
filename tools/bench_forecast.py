"""The forecast stage timed at N customers over a year of days (issue 10's bench target).

The forecast assets read one table, the validated energy per customer and day
(core.int_customer_day_blocks), with the calendar and the customer classes. A year of 10,000
real meters would take ~700 M readings through ingestion and VEE, so this writes that table
directly: N customers × `--days` days (from 2025-10-01), kWh = size × a weekday factor
(Monday's ramp-up, Friday's early close, weekend) × a yearly season × 6 % noise, with the
Chinese public holidays of the calendar seed at 40 %; then it materializes the forecast
group's assets (the like-day levels in dbt, the rolling-origin backtest with LightGBM trained
per origin, and the 35-day forecast) in-process and prints each asset's seconds, the peak
memory and the backtest's WAPE and coverage per model.

    python -m tools.bench_forecast [--customers 10000] [--days 400]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from foundation.paths import PROJECT_ROOT
from foundation.warehouse import connect
from tools.bench import MemorySampler
from tools.forecast_report import measures

START = date(2025, 10, 1)
WEEKDAY = np.array([0.8, 1.0, 1.0, 1.0, 0.9, 0.55, 0.5])
CLASSES = ("industrial", "commercial", "residential")


def holidays() -> set[date]:
    """Holidays of the calendar seed (adjusted workdays are workdays)."""
    seed = pd.read_csv(PROJECT_ROOT / "transforms" / "seeds" / "config" / "holidays.csv")
    return {date.fromisoformat(d) for d, t in zip(seed["day"], seed["day_type"], strict=True)
            if t == "holiday"}


def write_warehouse(path: Path, customers: int, days: int, seed: int = 11) -> None:
    """The four tables the forecast reads, generated (see the module docstring)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=days, freq="D")
    off = holidays()
    factor = np.where([d.date() in off for d in dates], 0.4, WEEKDAY[dates.weekday])
    season = 1 + 0.15 * np.cos(2 * np.pi * (dates.dayofyear.to_numpy() - 15) / 365)
    size = rng.uniform(200, 6000, customers)
    kwh = (size[:, None] * (factor * season)[None, :]
           * rng.normal(1, 0.06, (customers, days))).round(3)
    ids = np.array([f"CU{c:06d}" for c in range(customers)])
    blocks = pd.DataFrame({"customer_id": np.repeat(ids, days),
                           "reading_date": np.tile(dates.date, customers),
                           "kwh": kwh.reshape(-1)})
    calendar = pd.DataFrame({"day": pd.date_range(START, periods=days + 60, freq="D").date})
    calendar["day_type"] = ["holiday" if d in off else "weekend" if d.weekday() >= 5
                            else "workday" for d in calendar["day"]]
    classes = pd.DataFrame({"customer_id": ids, "customer_class":
                            rng.choice(CLASSES, customers), "valid_from": date(2020, 1, 1)})
    blocks["block"], blocks["failed_intervals"] = "flat", 0
    path.unlink(missing_ok=True)
    write_inputs(path, blocks, calendar, classes)


def write_inputs(path: Path, blocks: pd.DataFrame, calendar: pd.DataFrame,
                 customers: pd.DataFrame, weather: pd.DataFrame | None = None) -> None:
    """The tables the forecast reads, from frames: `blocks` (customer_id, reading_date, block,
    kwh, failed_intervals) as core.int_customer_day_blocks, `calendar` (day, day_type) as
    core.dim_calendar, `customers` as master.customers, VEE's like_days = 3, and `weather`
    (file_id, source_row, region, day, temperature_c, source) as raw.weather_daily."""
    with connect(path) as con:
        con.execute("create schema core; create schema master; create schema config")
        for name, frame in (("blocks", blocks), ("calendar", calendar),
                            ("customers", customers)):
            con.register(name, frame)
        con.execute("create table core.int_customer_day_blocks as select customer_id, "
                    "reading_date, block, kwh::decimal(18, 3) as kwh, failed_intervals "
                    "from blocks")
        con.execute("create table core.dim_calendar as select * from calendar")
        con.execute("create table master.customers as select * from customers")
        con.execute("create table config.vee_parameters as select * from (values "
                    "('like_days', '3', date '2012-01-01')) t(parameter, value, valid_from)")
        if weather is not None:
            con.register("weather", weather)
            con.execute("create schema raw; create table raw.weather_daily as select file_id, "
                        "source_row, region, day, temperature_c::decimal(5, 1) as temperature_c,"
                        " source from weather")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--folder", default=str(PROJECT_ROOT / "var" / "bench" / "forecast"))
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / f"c{args.customers}-d{args.days}.duckdb"
    started = time.perf_counter()
    write_warehouse(warehouse, args.customers, args.days)
    print(f"wrote {args.customers} customers × {args.days} days "
          f"({args.customers * args.days:,} customer-days) in "
          f"{time.perf_counter() - started:.1f} s: {warehouse}")

    from dagster import DagsterInstance, materialize

    from assets.forecast.assets import forecast_assets, forecast_checks
    from foundation.resources import Gridledger
    from orchestration.dbt import dbt_resource, forecast_input_assets

    resources = {"gridledger": Gridledger(warehouse=str(warehouse), data_dir=str(folder)),
                 "dbt": dbt_resource()}
    total = 0.0
    with MemorySampler() as memory:
        for asset in [forecast_input_assets(), *forecast_assets]:
            checks = [c for c in forecast_checks
                      if set(asset.keys) & {k.asset_key for k in c.check_keys}]
            begin = time.perf_counter()
            result = materialize([asset, *checks], instance=DagsterInstance.ephemeral(),
                                 resources=resources)
            end = time.perf_counter()
            total += end - begin
            name = " + ".join(k.path[-1] for k in sorted(asset.keys))
            print(f"  {name:<32} {end - begin:7.1f} s  "
                  f"peak {memory.peak_mb(time.time() - (end - begin), time.time()):8.0f} MB  "
                  f"{'ok' if result.success else 'FAILED'}")
    print(f"  {'forecast stage':<32} {total:7.1f} s")
    with connect(warehouse, read_only=True) as con:
        for model, _, wape, _, _, _, coverage, _ in measures(con):
            print(f"  backtest {model:<20} WAPE {wape:.4f}  P10-P90 coverage {coverage:.3f}")
        for row in con.execute("select customer_class, chosen, round(improvement, 4) "
                               "from analytics.forecast_model_choice order by 1").fetchall():
            print(f"  chosen for {row[0]:<12} {row[1]:<18} improvement on the best baseline "
                  f"{row[2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
