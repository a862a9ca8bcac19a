"""`make bench`: N meters × one month through every stage; seconds, readings/s, peak memory.

Stages are the Dagster steps of the real jobs (timed from the run's step events); peak memory is
the largest resident set of this process and its children (dbt runs as a child) while the step
ran, sampled every 100 ms. The bare DuckDB aggregate over the same readings gives a floor to
compare VEE against. Notices and bill documents are not timed here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import psutil

from foundation.months import month_end
from foundation.paths import PROJECT_ROOT
from foundation.warehouse import engine_settings


class MemorySampler:
    """Samples the RSS of this process tree in a background thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.samples.append((time.time(), rss))
            time.sleep(self._interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mb(self, start: float, end: float) -> float:
        window = [rss for t, rss in self.samples if start <= t <= end]
        return max(window, default=0) / 2**20


def step_spans(instance, run_id: str) -> dict[str, tuple[float, float]]:
    """Start and end time of every step of a run, from its event log."""
    spans: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            spans[event.step_key] = [entry.timestamp, entry.timestamp]
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in spans:
            spans[event.step_key][1] = entry.timestamp
    return {k: (v[0], v[1]) for k, v in spans.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--start", default="2026-10")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--root", default=str(PROJECT_ROOT / "var" / "bench"))
    args = parser.parse_args(argv)

    root = Path(args.root) / f"m{args.meters}"
    os.environ["GRIDLEDGER_WAREHOUSE"] = str(root / "warehouse.duckdb")
    os.environ["GRIDLEDGER_DATA_DIR"] = str(root / "data")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if (root / "warehouse.duckdb").exists():
        (root / "warehouse.duckdb").unlink()

    from dagster import AssetSelection, DagsterInstance, define_asset_job

    from assets.settlement.publish import PUBLISH_KEY
    from foundation.warehouse import connect
    from orchestration.build import build_defs
    from orchestration.dbt import finance_tables
    from orchestration.runner import RANGE_END, RANGE_START, run_job
    from tools.sample_data import generate

    first = date.fromisoformat(f"{args.start}-01")
    rows: list[tuple[str, float, int, float]] = []
    with MemorySampler() as sampler:
        started = time.time()
        generate(root / "data", args.meters, 1, args.start, args.seed, fmt="parquet")
        rows.append(
            (
                "generate sample data",
                time.time() - started,
                0,
                sampler.peak_mb(started, time.time()),
            )
        )

        defs = build_defs()
        alerts = AssetSelection.assets(["marts", "alerts"])
        money = define_asset_job(
            "bench_monthly_money",
            selection=(AssetSelection.groups("settlement") - alerts)
            | AssetSelection.assets(*finance_tables(), PUBLISH_KEY),
        )
        quality = define_asset_job(
            "bench_monthly_quality", selection=AssetSelection.groups("quality") | alerts)
        from dagster import Definitions

        defs = Definitions.merge(defs, Definitions(jobs=[money, quality]))
        last_day = month_end(first)
        with DagsterInstance.ephemeral() as instance:
            plan = [
                ("reference_job", {}, None),
                (
                    "daily_job",
                    {RANGE_START: first.isoformat(), RANGE_END: last_day.isoformat()},
                    None,
                ),
                ("bench_monthly_money", {}, first.isoformat()),
                ("bench_monthly_quality", {}, first.isoformat()),
            ]
            for job, tags, key in plan:
                result = run_job(defs, job, instance, tags, key)
                for step, (s, e) in step_spans(instance, result.run_id).items():
                    rows.append((f"{job}: {step}", e - s, 0, sampler.peak_mb(s, e)))

        with connect(root / "warehouse.duckdb", read_only=True) as con:
            readings = con.execute("select count(*) from raw.interval_reads").fetchone()[0]
            intervals = con.execute("select count(*) from core.int_interval_validated").fetchone()[
                0
            ]
            bills = con.execute("select count(*) from finance.bills").fetchone()[0]
            s = time.time()
            con.execute(
                "select meter_id, channel, interval_start::date, sum(value), count(*) "
                "from raw.interval_reads group by all"
            ).fetchall()
            bare = time.time() - s
            rows.append(("bare DuckDB aggregate of raw reads", bare, readings,
                         sampler.peak_mb(s, time.time())))
            s = time.time()
            frames = pandas_inputs(con, first)
            loaded = time.time()
            rows.append(("pandas: load raw reads and TOU map", loaded - s, readings,
                         sampler.peak_mb(s, loaded)))
            pandas_determinants(*frames)
            plain = time.time() - loaded
            del frames
            rows.append(("pandas: TOU kWh, max demand, PF", plain, readings,
                         sampler.peak_mb(loaded, time.time())))

    print(
        f"\nGridledger benchmark: {args.meters} meters × 1 month ({args.start}), "
        f"{readings:,} readings loaded, {intervals:,} validated intervals, {bills:,} bills"
    )
    print(
        f"machine: {platform.platform()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; {datetime.now():%Y-%m-%d %H:%M}"
    )
    configured = engine_settings()
    print("DuckDB: " + (", ".join(f"{k}={v}" for k, v in configured.items())
                        or "default settings (memory_limit 80 % of RAM, one thread per core)")
          + " (GRIDLEDGER_DUCKDB_MEMORY_LIMIT, GRIDLEDGER_DUCKDB_THREADS)")
    print("\n| stage | seconds | readings/s | peak MB |\n|---|---:|---:|---:|")
    vee = None
    for name, seconds, _, peak in rows:
        per_s = f"{readings / seconds:,.0f}" if seconds > 0 and "generate" not in name else ""
        print(f"| {name} | {seconds:.1f} | {per_s} | {peak:,.0f} |")
        if name.endswith("dbt_daily"):
            vee = seconds
    models = dbt_model_seconds(started)
    print("\ndbt models (seconds, from run_results.json; tests not included):")
    for model in KEY_MODELS:
        if model in models:
            print(f"  {model:<42} {models[model]:6.1f}")
    money_models = sum(t for m, t in models.items() if m in MONEY_MODELS)
    print(f"  {'settlement + bill tables (all money models)':<42} {money_models:6.1f}")
    if vee:
        print(f"\nVEE step (dbt_daily) / bare aggregate: {vee / bare:.1f}×")
    if "int_interval_validated" in models:
        print(f"VEE model / bare aggregate: {models['int_interval_validated'] / bare:.1f}×")
    consumption = sum(models.get(m, 0.0) for m in CONSUMPTION_MODELS)
    if consumption:
        print(f"consumption models ({', '.join(CONSUMPTION_MODELS)}) / plain pandas "
              f"determinants: {consumption / plain:.1f}×; VEE step / plain pandas: "
              f"{(vee or 0) / plain:.1f}×")
    return 0


def pandas_inputs(con, first: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The month's raw reads, each day's day type and the TOU block of every minute (the first
    TOU calendar in force), as DataFrames."""
    reads = con.execute("select meter_id, channel::varchar as channel, interval_start, "
                        "value::double as value "
                        "from raw.interval_reads").fetch_arrow_table().to_pandas(
        strings_to_categorical=True)  # ids as categories: 60 M object strings would be ~4 GB
    days = con.execute("select day, day_type from core.dim_calendar").df()
    tou = con.execute("""
        select month_no, day_type, minute_of_day, block from core.dim_tou_minutes
        where calendar_id = (select min(calendar_id) from core.dim_tou_minutes)
          and ? between valid_from and valid_to""", [first]).df()
    return reads, days, tou


def pandas_determinants(reads: pd.DataFrame, days: pd.DataFrame,
                        tou: pd.DataFrame) -> pd.DataFrame:
    """The core determinants in plain pandas, the bench's yardstick for the consumption models:
    kWh per meter and TOU block, maximum 15-minute demand (kW) and power factor per meter. No
    VEE, one TOU calendar for every meter: a lower bound, not a second implementation."""
    kwh = reads[reads["channel"] == "kwh_imp"]
    start = kwh["interval_start"]
    keyed = pd.DataFrame({
        "meter_id": kwh["meter_id"].to_numpy(), "value": kwh["value"].to_numpy(),
        "day": start.dt.normalize().to_numpy(), "month_no": start.dt.month.to_numpy(),
        "minute_of_day": (start.dt.hour * 60 + start.dt.minute).to_numpy()})
    days = days.assign(day=pd.to_datetime(days["day"]))
    keyed = keyed.merge(days, on="day").merge(tou, on=["month_no", "day_type", "minute_of_day"])
    blocks = keyed.pivot_table(index="meter_id", columns="block", values="value",
                               aggfunc="sum", fill_value=0.0)
    demand = kwh.groupby("meter_id", observed=True)["value"].max() * 4
    totals = reads.groupby(["meter_id", "channel"], observed=True)["value"].sum().unstack()
    pf = totals["kwh_imp"] / (totals["kwh_imp"] ** 2 + totals.get("kvarh_imp", 0) ** 2) ** 0.5
    return blocks.assign(max_demand_kw=demand, power_factor=pf)


CONSUMPTION_MODELS = ("int_customer_day_blocks", "int_customer_month_blocks",
                      "int_customer_month_demand")
KEY_MODELS = ("int_interval_validated", "vee_register_days", "fct_vee_duplicate_conflicts",
              "int_customer_day_blocks", "fct_meter_quality_monthly", "fct_meter_anomalies")
MONEY_MODELS = ("int_customer_day_blocks", "int_customer_month_blocks", "int_customer_month_demand",
                "int_customer_month_segments", "int_customer_month", "fct_deviation_tiers",
                "int_customer_like_day_profile", "int_contract_daily_volumes",
                "fct_settlement_lines", "int_settlement_run", "fct_portfolio_deviation",
                "period_close", "bill_lines", "bills", "adjustments", "settlement_runs",
                "retailer_margin")


def dbt_model_seconds(since: float) -> dict[str, float]:
    """Execution time of each dbt model built since `since` (the runs' run_results.json)."""
    seconds: dict[str, float] = {}
    for path in (PROJECT_ROOT / "transforms" / "target").glob("*/run_results.json"):
        if path.stat().st_mtime < since:
            continue
        for result in json.loads(path.read_text())["results"]:
            kind, _, name = result["unique_id"].split(".", 2)
            if kind == "model":
                seconds[name] = seconds.get(name, 0.0) + result["execution_time"]
    return seconds


if __name__ == "__main__":
    raise SystemExit(main())
