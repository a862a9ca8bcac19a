"""`make bench`: N meters × one month through every stage, then the customer analytics;
seconds, readings/s, peak memory.

Stages (`--stages`, default both): `meters` generates N meters × `--months` (default 1) and
runs reference_job, one daily_job run per month and the money part of monthly_job for each
month (its last run re-rates up to 12 months: the package what-if models, on their own lines),
then the VEE reports and the notices of the last month; `analytics` writes a 4-year contract
history, service tickets and payments for the same customers and runs analytics_job (churn
inputs, churn risk, value, credit rating, measures, the measure notices, the BI mart) on them,
its last 12 months scored. `--stages analytics --customers N` runs reference_job and analytics_job
alone on master data of at least N customers, without meter data. Notices go to the
warehouse outbox (no network).

Stages are the Dagster steps of the real jobs (timed from the run's step events); peak memory is
the largest resident set of this process and its children (dbt runs as a child) while the step
ran, sampled every 100 ms. The bare DuckDB aggregate over the same readings gives a floor to
compare VEE against. The last month's bill-ready and alert notices (`monthly_notices`) are
delivered through the ledger to the outbox and timed; bill documents are not timed here.
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
from typing import NamedTuple

import duckdb
import pandas as pd
import psutil

from foundation.months import add_months, month_end
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


STAGES = ("meters", "analytics")
HISTORY_YEARS = 4  # contract history for analytics_job: 4 years, its last 12 months scored
LAST_MONTH = "2026-10"  # the default month; --months N ends with it (the last complete month)


def failed_steps(instance, run_id: str) -> list[str]:
    """Steps of a run that failed, in order."""
    return [entry.dagster_event.step_key for entry in instance.all_logs(run_id)
            if entry.dagster_event is not None and entry.dagster_event.step_key is not None
            and entry.dagster_event.event_type_value == "STEP_FAILURE"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--months", type=int, default=1,
                        help="months of meter data (default 1); the package re-rating of the "
                             "last month's run covers up to 12 of them")
    parser.add_argument("--start", help=f"first month, YYYY-MM (default: the months end with "
                                        f"{LAST_MONTH})")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help="comma-separated: meters (generate, reference, daily and monthly "
                             "jobs), analytics (contract history, analytics_job); default both")
    parser.add_argument("--customers", type=int,
                        help="with --stages analytics only: master data and contract history "
                             "for at least this many customers (no meter data); default the "
                             "customers of --meters")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-faults", action="store_true",
                        help="generate clean reads (no injected faults): e.g. for many months, "
                             "where a gap VEE leaves FAILED stops that month's money run")
    parser.add_argument("--root", default=str(PROJECT_ROOT / "var" / "bench"))
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if not stages or any(s not in STAGES for s in stages):
        parser.error(f"--stages takes a comma-separated subset of {', '.join(STAGES)}")
    if args.customers is not None and "meters" in stages:
        parser.error("--customers sizes the analytics stage alone: add --stages analytics")
    if args.months < 1 or args.meters < 1 or (args.customers or 1) < 1:
        parser.error("--meters, --months and --customers must be positive")
    start = args.start or add_months(LAST_MONTH, 1 - args.months)
    meters = (meters_for_customers(args.customers, args.seed) if args.customers
              else args.meters)

    name = (f"c{args.customers}" if args.customers else f"m{meters}") + (
        f"x{args.months}" if args.months > 1 else "") + (
        "" if stages == list(STAGES) else "-" + "-".join(stages))
    root = Path(args.root) / name
    os.environ["GRIDLEDGER_WAREHOUSE"] = str(root / "warehouse.duckdb")
    os.environ["GRIDLEDGER_DATA_DIR"] = str(root / "data")
    os.environ["GRIDLEDGER_FIRST_MONTH"] = start  # the monthly partitions start with the data
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for path in root.glob("warehouse*.duckdb*"):  # and the restricted, BI and service files
        path.unlink()

    from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

    from assets.alerts.notices import MONTHLY_NOTICES
    from assets.settlement.publish import PUBLISH_KEY
    from foundation.warehouse import connect
    from notifications.resource import DELIVERY_KEY, OutboxDelivery
    from orchestration.build import build_defs
    from orchestration.dbt import finance_tables
    from orchestration.runner import RANGE_END, RANGE_START, run_job
    from tools.sample_data import generate

    first = date.fromisoformat(f"{start}-01")
    months = [add_months(start, k) for k in range(args.months)]
    rows: list[Row] = []
    run_models: dict[str, dict[str, float]] = {}
    analytics_total = analytics_scoring = readings = intervals = bills = 0
    sent = (0, 0)
    failed: list[str] = []
    bare = plain = vee = None
    with MemorySampler() as sampler:
        started = time.time()
        manifest = generate(root / "data", meters, args.months, start, args.seed,
                            fmt="parquet", landing="meters" in stages, faults=not args.no_faults,
                            history_years=HISTORY_YEARS if "analytics" in stages else 0)
        customers = manifest["customers"]
        what = ("sample data" if "meters" in stages else "master data") + (
            f" + {HISTORY_YEARS}-year contract history" if "analytics" in stages else "")
        rows.append(Row(f"generate {what}", time.time() - started,
                        sampler.peak_mb(started, time.time())))

        # notices in the bench go to the warehouse outbox, whatever GRIDLEDGER_*_URL says
        defs = build_defs({DELIVERY_KEY: OutboxDelivery()})
        alerts = AssetSelection.assets(["marts", "alerts"])
        money = define_asset_job(
            "bench_monthly_money",
            selection=(AssetSelection.groups("settlement") - alerts)
            | AssetSelection.assets(*finance_tables(), PUBLISH_KEY),
        )
        quality = define_asset_job(
            "bench_monthly_quality", selection=AssetSelection.groups("quality") | alerts)
        notices = define_asset_job(
            "bench_monthly_notices", selection=AssetSelection.assets(MONTHLY_NOTICES))
        defs = Definitions.merge(defs, Definitions(jobs=[money, quality, notices]))
        # (job, tags, partition key, label, month folded into "earlier months" or None)
        plan: list[tuple[str, dict[str, str], str | None, str, str | None]] = [
            ("reference_job", {}, None, "reference_job", None)]
        many = args.months > 1
        if "meters" in stages:
            for month in months:  # one daily run per month: VEE holds one month at a time
                day = date.fromisoformat(f"{month}-01")
                plan.append(("daily_job", {RANGE_START: day.isoformat(),
                                           RANGE_END: month_end(day).isoformat()}, None,
                             f"daily_job {month}" if many else "daily_job", month))
            for month in months:
                plan.append(("bench_monthly_money", {}, f"{month}-01",
                             f"bench_monthly_money {month}" if many else "bench_monthly_money",
                             month))
            # the VEE reports and alerts of the last month (they feed no later money run)
            plan.append(("bench_monthly_quality", {}, f"{months[-1]}-01",
                         f"bench_monthly_quality {months[-1]}" if many
                         else "bench_monthly_quality", months[-1]))
            # the month's bill-ready and alert notices, through the ledger to the outbox
            plan.append(("bench_monthly_notices", {}, f"{months[-1]}-01",
                         f"bench_monthly_notices {months[-1]}" if many
                         else "bench_monthly_notices", months[-1]))
        if "analytics" in stages:
            plan.append(("analytics_job", {}, None, "analytics_job", None))
        earlier: dict[str, list[float]] = {}  # "job: step" -> [seconds, peak MB] summed/max
        fold = f"{months[0]} … {add_months(months[-1], -1)}" if many else ""
        with DagsterInstance.ephemeral() as instance:
            for job, tags, key, label, month in plan:
                run_started = time.time()
                # a blocking check that fails (e.g. the validated-consumption gate on a day VEE
                # left FAILED) fails its run: reported, and the bench goes on with the others
                result = run_job(defs, job, instance, tags, key, raise_on_error=False)
                run_models[label] = dbt_model_seconds(run_started)
                spans = step_spans(instance, result.run_id)
                failed += [f"{label}: {step}" for step in failed_steps(instance, result.run_id)]
                for step, (s, e) in spans.items():
                    if many and month is not None and month != months[-1]:
                        total = earlier.setdefault(
                            f"{job} ×{args.months - 1} ({fold}, summed): {step}", [0.0, 0.0])
                        total[0] += e - s
                        total[1] = max(total[1], sampler.peak_mb(s, e))
                        continue
                    rows.append(Row(f"{label}: {step}", e - s, sampler.peak_mb(s, e),
                                    per_reading=not many and (job == "daily_job"
                                                              or job.startswith("bench_"))))
                if job == "analytics_job":
                    s = min(s for s, _ in spans.values())
                    e = max(e for _, e in spans.values())
                    analytics_total = e - s
                    rows.append(Row("analytics_job: all steps (first start to last end)",
                                    analytics_total, sampler.peak_mb(s, e)))
                    notices = spans.get("analytics__measure_notices")
                    if notices:
                        analytics_scoring = analytics_total - (notices[1] - notices[0])
                        rows.append(Row("analytics_job: all steps but the measure notices' "
                                        "delivery", analytics_scoring, sampler.peak_mb(s, e)))
        after_reference = max(i for i, r in enumerate(rows) if r.name.startswith("reference"))
        rows[after_reference + 1:after_reference + 1] = [
            Row(name, seconds, peak) for name, (seconds, peak) in earlier.items()]

        with connect(root / "warehouse.duckdb", read_only=True) as con:
            if "meters" in stages:
                readings = con.execute("select count(*) from raw.interval_reads").fetchone()[0]
                intervals = con.execute(
                    "select count(*) from core.int_interval_validated").fetchone()[0]
                bills = con.execute("select count(*) from finance.bills").fetchone()[0]
                sent = con.execute(
                    "select count(distinct notice_key), count(*) from notify.delivery_ledger"
                    " where status = 'sent' and notice_type <> 'capacity_exceeded'").fetchone()
                s = time.time()
                con.execute(
                    "select meter_id, channel, interval_start::date, sum(value), count(*) "
                    "from raw.interval_reads group by all"
                ).fetchall()
                bare = time.time() - s
                rows.append(Row("bare DuckDB aggregate of raw reads", bare,
                                sampler.peak_mb(s, time.time()), per_reading=True))
                s = time.time()
                frames = pandas_inputs(con, first)
                loaded = time.time()
                rows.append(Row("pandas: load raw reads and TOU map", loaded - s,
                                sampler.peak_mb(s, loaded), per_reading=True))
                pandas_determinants(*frames)
                plain = time.time() - loaded
                del frames
                rows.append(Row("pandas: TOU kWh, max demand, PF", plain,
                                sampler.peak_mb(loaded, time.time()), per_reading=True))
            scale = analytics_scale(con) if "analytics" in stages else {}

    span = f"{args.months} month(s) from {start}" if args.months > 1 else f"1 month ({start})"
    if "meters" in stages:
        print(f"\nGridledger benchmark: {meters} meters × {span}, {readings:,} readings loaded, "
              f"{intervals:,} validated intervals, {bills:,} bills"
              + (" (no injected faults)" if args.no_faults else ""))
        print(f"monthly notices: {sent[0]:,} bill-ready and alert notices, {sent[1]:,} messages "
              f"through the delivery ledger to the outbox")
    else:
        print(f"\nGridledger benchmark: analytics alone, {customers:,} customers (master data "
              f"of {meters:,} meters, no meter data)")
    if scale:
        print("analytics: " + ", ".join(f"{v:,} {k}" for k, v in scale.items()))
    print(
        f"machine: {platform.platform()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; {datetime.now():%Y-%m-%d %H:%M}"
    )
    configured = engine_settings()
    print("DuckDB: " + (", ".join(f"{k}={v}" for k, v in configured.items())
                        or "default settings (memory_limit 80 % of RAM, one thread per core)")
          + " (GRIDLEDGER_DUCKDB_MEMORY_LIMIT, GRIDLEDGER_DUCKDB_THREADS)")
    print("\n| stage | seconds | readings/s | peak MB |\n|---|---:|---:|---:|")
    for row in rows:
        per_s = (f"{readings / row.seconds:,.0f}" if row.per_reading and row.seconds > 0
                 and readings else "")
        print(f"| {row.name} | {row.seconds:.1f} | {per_s} | {row.peak_mb:,.0f} |")
        if row.name.endswith("dbt_daily"):
            vee = (vee or 0.0) + row.seconds
    models = merged(run_models.values())
    print("\ndbt models (seconds, from run_results.json; tests not included"
          + ("; summed over the months' runs unless a run is named" if args.months > 1 else "")
          + "):")
    if "meters" in stages:
        for model in KEY_MODELS:
            if model in models:
                print(f"  {model:<42} {models[model]:6.1f}")
        last_money = run_models[next(label for _, _, _, label, _ in reversed(plan)
                                     if label.startswith("bench_monthly_money"))]
        money_models = sum(t for m, t in last_money.items() if m in MONEY_MODELS)
        which = "" if args.months == 1 else f" ({months[-1]}'s run)"
        print(f"  {'settlement + bill tables (all money models)' + which:<42} "
              f"{money_models:6.1f}")
        rerated = rerating_months(root / "warehouse.duckdb")
        print(f"package re-rating in the {months[-1]} money run ({rerated}):")
        for model in RERATING_MODELS:
            if model in last_money:
                print(f"  {model:<42} {last_money[model]:6.1f}")
        print(f"  {'re-rating models, total':<42} "
              f"{sum(last_money.get(m, 0.0) for m in RERATING_MODELS):6.1f}")
    if "analytics" in stages:
        for model, seconds in sorted(run_models["analytics_job"].items()):
            print(f"  {model + ' (analytics_job)':<42} {seconds:6.1f}")
        print(f"\nanalytics_job for {customers:,} customers × {SCORED_MONTHS} scored months: "
              f"{analytics_total:.1f} s, {analytics_scoring:.1f} s without the measure notices' "
              f"delivery (issue 11's target for 10,000 customers × 12 months, re-rating "
              f"included: ≤ 120 s)")
    if failed:
        print(f"\nFAILED steps (see the Dagster log above): {'; '.join(failed)}")
    if vee and bare:
        print(f"\nVEE step (dbt_daily) / bare aggregate: {vee / bare:.1f}×")
    if bare and "int_interval_validated" in models:
        print(f"VEE model / bare aggregate: {models['int_interval_validated'] / bare:.1f}×")
    consumption = sum(models.get(m, 0.0) for m in CONSUMPTION_MODELS)
    if consumption and plain:
        print(f"consumption models ({', '.join(CONSUMPTION_MODELS)}) / plain pandas "
              f"determinants: {consumption / plain:.1f}×; VEE step / plain pandas: "
              f"{(vee or 0) / plain:.1f}×")
    return 1 if failed else 0


class Row(NamedTuple):
    """One line of the stage table; `per_reading` rows get readings / seconds."""

    name: str
    seconds: float
    peak_mb: float
    per_reading: bool = False


SCORED_MONTHS = 12  # assets/analytics/assets.py scores the history's last 12 months


def meters_for_customers(customers: int, seed: int) -> int:
    """A meter count whose generated master data (same seed) hold at least `customers`
    customers (~10 % of industrial customers have two meters), searched upwards from
    customers / 0.97; the bench reports the customers it got."""
    import numpy as np

    from tools.sample_data.master import build_customers

    meters = max(1, int(customers / 0.97))
    while True:
        found = len(build_customers(np.random.default_rng([seed, 1]), meters))
        if found >= customers:
            return meters
        meters += max(1, int((customers - found) / 0.96))


def analytics_scale(con) -> dict[str, int]:
    """What analytics_job read and wrote: contracts, tickets, payment rows, scored rows."""
    queries = {"contracts": "contract_history", "service tickets": "service_tickets",
               "payment rows": "payments", "churn-risk rows": "churn_risk",
               "credit-rating rows": "credit_rating", "customers with a measure":
               "customer_measures where measure_code is not null"}
    try:
        out = {k: con.execute(f"select count(*) from analytics.{t}").fetchone()[0]
               for k, t in queries.items()}
        out["measure notices in the outbox"] = con.execute(
            "select count(distinct notice_key) from notify.delivery_ledger "
            "where notice_type = 'customer_measure'").fetchone()[0]
    except duckdb.Error:  # analytics_job failed before writing them
        return {}
    return out


def rerating_months(warehouse: Path) -> str:
    """Customer-months and months the re-rating priced (analytics.package_whatif)."""
    from foundation.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        try:
            n, months, customers = con.execute(
                "select count(distinct (customer_id, period)), count(distinct period), "
                "count(distinct customer_id) from analytics.package_whatif").fetchone()
        except duckdb.Error:
            return "analytics.package_whatif not built"
    return f"{customers:,} customers, {months} month(s), {n:,} customer-months"


def merged(runs) -> dict[str, float]:
    out: dict[str, float] = {}
    for run in runs:
        for model, seconds in run.items():
            out[model] = out.get(model, 0.0) + seconds
    return out


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
RERATING_MODELS = ("int_package_eligibility", "fct_package_whatif_lines", "package_whatif",
                   "package_whatif_summary", "dr_uptake")
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
