"""`make demo`: generate a sample month, land it, run the whole graph, print a summary.

Runs the same jobs as the UI, on a persistent Dagster instance (`var/dagster_home`), so
`make ui` shows the runs, materializations and checks afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import TextIO

from foundation.months import last_day_of_span
from foundation.paths import (
    PROJECT_ROOT,
    bi_snapshot_path,
    data_dir,
    service_snapshot_path,
    warehouse_path,
)
from foundation.warehouse import connect

SUMMARY_SQL = {
    "meters ingested": "select count(distinct meter_id) from raw.interval_reads",
    "files in ledger": "select count(*) from raw.file_ledger",
    "files quarantined": "select count(*) from raw.file_ledger where status = 'quarantined'",
    "duplicate files skipped": "select count(*) from raw.file_ledger where status = 'duplicate'",
    "rows quarantined": "select count(*) from raw.quarantine_rows",
    "intervals estimated": (
        "select count(*) from core.int_interval_validated where quality_flag = 'ESTIMATED'"
    ),
    "customers billed": "select count(distinct customer_id) from finance.bills",
    "total billed (yuan)": "select coalesce(sum(total_yuan), 0) from finance.bills",
    "bill holds (estimates)": (
        "select coalesce(string_agg(status || '=' || n, ', ' order by status), 'none') from ("
        "select status, count(distinct customer_id || period) n from finance.bill_holds group by 1)"
    ),
    "months closed": "select string_agg(period, ', ') from finance.period_close",
    "adjustments (追退补)": (
        "select count(*) || ' lines, ' || count(distinct customer_id) || ' customer(s), net '"
        " || coalesce(sum(amount_delta_yuan), 0) || ' yuan' from finance.adjustments"
    ),
    "alerts": "select count(*) from marts.alerts",
    "notices sent": "select count(*) from notify.delivery_ledger where status = 'sent'",
    "notices by type": (
        "select string_agg(notice_type || '=' || n, ', ' order by notice_type) from ("
        "select notice_type, count(*) n from notify.delivery_ledger group by 1)"
    ),
    "terminations": (
        "select string_agg(status || '=' || n, ', ' order by status) from ("
        "select status, count(*) n from workflow.termination_requests group by 1)"
    ),
    "curtailment results": (
        "select count(*) || ' customers, ' || count(*) filter (where met) || ' met target' "
        "from workflow.curtailment_results"
    ),
    "demand response": (
        "select coalesce(string_agg(customer_id || ' ' || line_code || ' ' || amount_yuan "
        "|| ' yuan (' || quantity || ' ' || unit || ')', '; ' order by customer_id), 'none') "
        "from finance.bill_lines where line_code like 'dr_%'"
    ),
    "DR events settled": (
        "select count(*) || ' (' || coalesce(string_agg(customer_id || ' ' || event_id || ': '"
        " || settlement_note, '; ' order by customer_id), '') || ')' from core.fct_dr_events"
    ),
    "duplicate ledger keys": (
        "select count(*) - count(distinct idempotency_key) from notify.delivery_ledger"
    ),
}

# customer analytics (analytics_job, issue 11): lines after the ones above
ANALYTICS_SQL = {
    "churn customers by band": (
        "select string_agg(risk_band || '=' || n, ', ' order by risk_band) || ' (as of ' "
        "|| any_value(month) || ')' from (select risk_band, any_value(month) as month, "
        "count(*) n from analytics.customer_measures group by 1)"
    ),
    "value grades": (
        "select string_agg(value_grade || '=' || n, ', ' order by value_grade) from ("
        "select coalesce(value_grade, 'none') as value_grade, count(*) n "
        "from analytics.customer_measures group by 1)"
    ),
    "credit grades": (
        "select string_agg(credit_grade || '=' || n, ', ' order by credit_grade) from ("
        "select coalesce(credit_grade, 'not rated') as credit_grade, count(*) n "
        "from analytics.customer_measures group by 1)"
    ),
    "measure notices sent": (
        "select count(*) || ' to account managers, ' || count(distinct notice_key) "
        "|| ' customer(s)' from notify.delivery_ledger "
        "where notice_type = 'customer_measure' and status = 'sent'"
    ),
    "BI mart customer_analytics": "select count(*) || ' rows' from marts.customer_analytics",
    "finance.customer_credit": "select count(*) || ' rows' from finance.customer_credit",
    "retailer recommendation": (
        "select count(distinct customer_id) || ' customers; another retailer ranked first for '"
        " || count(*) filter (where rank = 1 and not is_current) || ' (top: ' || coalesce(("
        "select string_agg(retailer_id || '=' || n, ', ' order by retailer_id) from ("
        "select retailer_id, count(*) n from analytics.retailer_recommendation where rank = 1 "
        "group by 1)), 'none') || ')' from analytics.retailer_recommendation"
    ),
}
# load forecast and forward deviation risk (forecast_job, issue 10): lines after the analytics
FORECAST_SQL = {
    "load forecast": (
        "select count(distinct customer_id) || ' customers × ' || max(horizon_days) || ' days "
        "from ' || min(origin_day) || ' (' || string_agg(distinct model, ', ') || ')' "
        "from analytics.load_forecast_daily"
    ),
    "forecast backtest": (
        "select count(*) || ' rows, ' || count(distinct origin_day) || ' origins from ' || "
        "min(origin_day) || ' to ' || max(origin_day) from analytics.forecast_backtest"
    ),
    "model per class": (
        "select coalesce(string_agg(customer_class || ' ' || chosen || ' (WAPE ' || "
        "round(coalesce(model_wape, baseline_wape), 3) || ' vs ' || best_baseline || ' ' || "
        "round(baseline_wape, 3) || ')', '; ' order by customer_class), 'none') "
        "from analytics.forecast_model_choice"
    ),
    "deviation projection": (
        "select any_value(period) || ' from ' || any_value(origin_day) || ': ' || string_agg("
        "risk_state || '=' || n, ', ' order by risk_state) from (select risk_state, "
        "any_value(period) as period, any_value(origin_day) as origin_day, count(*) n "
        "from analytics.deviation_projection group by 1)"
    ),
    "portfolio projection": (
        "select coalesce(string_agg(retailer_id || ' P50 ' || projected_p50_kwh || ' / bought ' "
        "|| bought_kwh || ' kWh, expected ' || expected_deviation_cost_yuan || ' yuan (' || "
        "risk_state || ')', '; ' order by retailer_id), 'none') "
        "from analytics.portfolio_projection"
    ),
    "retail risk (projected)": (
        "select coalesce(string_agg(retailer_id || ' spread ' || projected_spread_yuan || ', "
        "exposure ' || risk_exposure_yuan || ' vs guarantee ' || coalesce(margin_guarantee_yuan"
        "::varchar, 'none') || case when is_at_risk then ' AT RISK' else '' end, '; ' "
        "order by retailer_id), 'none') from analytics.retail_risk_projection"
    ),
    "purchase adjustment": (
        "select count(*) filter (where status = 'adjust') || ' of ' || count(*) || ' contract "
        "months to adjust, expected saving ' || coalesce(sum(expected_saving_yuan), 0) || ' yuan"
        " (' || min(period) || ' to ' || max(period) || ')' from analytics.purchase_adjustment"
    ),
    "largest adjustment": (
        "select coalesce(any_value(contract_id || ' ' || period || ': ' || contracted_kwh || ' → '"
        " || suggested_kwh || ' kWh, expected cost ' || expected_cost_current_yuan || ' → ' || "
        "expected_cost_suggested_yuan || ' yuan' order by expected_saving_yuan desc), 'none') "
        "from analytics.purchase_adjustment where status = 'adjust'"
    ),
    "pre-signed capacity": (
        "select coalesce(string_agg(retailer_id || ' ' || period || ': ' || contracts || "
        "' contract(s), P50 ' || capacity_p50_kwh || ' kWh (P10 ' || capacity_p10_kwh || ', P90 '"
        " || capacity_p90_kwh || ')', '; ' order by retailer_id, period), 'none') "
        "from analytics.trading_capacity"
    ),
    "projection notices sent": (
        "select count(*) || ' to account managers, ' || count(distinct notice_key) "
        "|| ' contract(s)' from notify.delivery_ledger "
        "where notice_type = 'deviation_projection' and status = 'sent'"
    ),
}
TOP_PROJECTION_SQL = """
select contract_id, contracted_kwh, projected_p10_kwh, projected_p50_kwh, projected_p90_kwh,
       expected_deviation_cost_yuan, risk_state
from analytics.deviation_projection
where expected_deviation_cost_yuan is not null
order by expected_deviation_cost_yuan desc, contract_id
limit 3
"""
TOP_CHURN_SQL = """
select customer_id, round(100 * churn_probability_90d, 1), risk_band,
       coalesce(value_grade, '-'), coalesce(credit_grade, '-'), coalesce(measure_code, '-')
from analytics.customer_measures
order by churn_probability_90d desc, customer_id
limit 5
"""
TOP_SAVINGS_SQL = """
select customer_id, current_package_id, package_id, months, yuan_per_month,
       saving_per_month_yuan, deviation_change_yuan
from analytics.package_whatif_summary
where rank = 1 and not is_current and saving_per_month_yuan > 0
order by saving_per_month_yuan desc, customer_id
limit 3
"""
HISTORY_MONTHS = 12  # clean validated months before the billed one: the forecast's year
TAIL_DAYS = 15  # validated days after it: forecast_job projects the next month from mid-month
PRESIGNED = 3  # pre-signed contracts after the first customers' current ones (trading capacity)
HISTORY_YEARS = 4  # contract history for analytics_job (its own RNG stream: the month's data
#                    are the same with or without it)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=60)
    parser.add_argument("--start", default="2026-10", help="first month, YYYY-MM")
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-file", help="Dagster and dbt logs (default: demo.log beside the "
                        "warehouse)")
    parser.add_argument("--verbose", action="store_true", help="logs on the console instead")
    args = parser.parse_args(argv)

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "var" / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    from tools.sample_data import generate

    log_file = Path(args.log_file) if args.log_file else warehouse_path().parent / "demo.log"
    print(f"Gridledger demo: {args.meters} meters × {args.months} month(s) from {args.start}; "
          f"about {EXPECTED_MINUTES} minutes on a 2-core machine. Dagster and dbt logs: "
          f"{'this console' if args.verbose else log_file}")
    manifest = generate(data_dir(), args.meters, args.months, args.start, args.seed,
                        history_years=HISTORY_YEARS, presigned=PRESIGNED, weather=True,
                        history_months=HISTORY_MONTHS, tail_days=TAIL_DAYS)
    first = date.fromisoformat(f"{args.start}-01")
    plant_overloads(data_dir(), first.replace(day=28))
    last = last_day_of_span(args.start, args.months)
    history_from = date.fromisoformat(manifest["clean_history"][0])
    tail = [date.fromisoformat(day) for day in manifest["clean_tail"]]
    print(
        f"generated {manifest['meters']} meters, {args.start} + {args.months} month(s) billed, "
        f"validated from {history_from} to {tail[1]}, into {data_dir()}"
    )
    with nullcontext() if args.verbose else logs_to(log_file):
        from dagster import DagsterInstance  # imported here: their warnings go to the log

        from orchestration.build import build_defs
        from orchestration.runner import FlowTimings, run_flow

        timings = FlowTimings(on_record=print_progress)
        defs = build_defs()
        with DagsterInstance.get() as instance:
            results, _ = run_flow(defs, first, last, instance, False, timings, history_from)
            if all(r.success for r in results):
                results += run_workflows(defs, instance, timings, last)
            if all(r.success for r in results):
                results += settle_demand_response(defs, instance, timings, first)
            if all(r.success for r in results):
                results += release_one_hold(defs, instance, timings, first)
            if all(r.success for r in results):
                results += resettle(defs, instance, timings, first)
            if all(r.success for r in results):
                results += run_analytics(defs, instance, timings)
            if all(r.success for r in results):
                results += run_days(defs, instance, timings, *tail)
            if all(r.success for r in results):
                results += run_job_timed(defs, instance, timings, "forecast_job")
    ok = all(r.success for r in results)
    print(f"  {'all steps':<32} {sum(timings.seconds.values()):7.1f} s")
    print_summary()
    print(f"log:        {log_file if not args.verbose else '(console)'}")
    if not ok:
        print("\nA run failed: see the log above, or `make ui` (Runs) for the failed step and "
              "check.")
    return 0 if ok else 1


EXPECTED_MINUTES = "8–10"


def print_progress(step: str, seconds: float, ok: bool) -> None:
    """One line per finished step (job run) of the demo."""
    say(f"  {step:<32} {seconds:7.1f} s{'' if ok else '  FAILED'}")


CONSOLE: list[TextIO] = []  # where say() writes while logs_to() holds the file descriptors


def say(text: str) -> None:
    """A line for the person running the demo (the console even while logs go to the file)."""
    stream = CONSOLE[-1] if CONSOLE else sys.stdout
    stream.write(text + "\n")
    stream.flush()


@contextmanager
def logs_to(path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 — Dagster's and dbt's logs, whatever prints or any
    subprocess writes — to `path`; say() keeps writing to the console."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8")
    with open(path, "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        CONSOLE.append(console)
        try:
            yield
        finally:
            CONSOLE.pop()
            console.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)


def run_workflows(defs, instance, timings, last_day: date) -> list:
    """Demo inbox: two termination requests (one paid, one failed) and a curtailment plan,
    evaluated at its notice, reminder, all-clear and results times; placed on the billed
    month's last days (the same files on every run of the demo, which the workflows skip)."""
    import time

    from orchestration.runner import run_job
    from tools.demo_inbox import write_demo_inbox

    inbox = write_demo_inbox(data_dir(), warehouse_path(), last_day)
    results = []
    started = time.perf_counter()
    results.append(run_job(defs, "termination_job", instance, raise_on_error=False))
    timings.record("termination_job", started, results[-1].success)
    for stage, moment in inbox.evaluation_times.items():
        started = time.perf_counter()
        config = {"ops": {"curtailment_workflow": {"config": {"now": f"{moment:%Y-%m-%d %H:%M}"}}}}
        results.append(run_job(defs, "curtailment_job", instance, raise_on_error=False,
                               run_config=config))
        timings.record(f"curtailment_job:{stage}", started, results[-1].success)
    return results


DR_CANDIDATES_SQL = """
select customer_id, reduction_kw, target_kw, met
from workflow.curtailment_results
where baseline_kw is not null and actual_kw is not null
order by reduction_kw desc, customer_id
"""
DR_HEADER = ["customer_id", "dr_package_id", "committed_kw", "valid_from", "valid_to"]


def settle_demand_response(defs, instance, timings, period_start: date) -> list:
    """Demand-response packages (config seed dr_packages): two customers of the demo's
    curtailment plan opt in from the month's first day, each committing the kW the plan asked
    of it: the one that reduced most takes load reduction, the first other one that met its
    target takes the price discount. (The demo chooses them after the event, so that its bills
    show a response to pay; a retailer's enrollments come before.) Master data is loaded again
    and the month settled again: their bills get dr_incentive / dr_discount lines."""
    import time

    from orchestration.runner import run_job
    from tools.sample_data.writer import write_csv

    with connect(warehouse_path(), read_only=True) as con:
        candidates = con.execute(DR_CANDIDATES_SQL).fetchall()
    if not candidates:
        say("no curtailment result with complete data: no demand-response enrollment")
        return []
    reducer = candidates[0]
    discount = next((c for c in candidates[1:] if c[3]), None)
    chosen = [(reducer, "DR_REDUCTION")] + ([(discount, "DR_DISCOUNT")] if discount else [])
    write_csv(data_dir() / "master" / "dr_enrollments.csv", DR_HEADER,
              [[c[0], package, f"{c[2]}", f"{period_start}", ""] for c, package in chosen])
    for (customer_id, reduction, target, _), package in chosen:
        say(f"demand response: {customer_id} enrolled in {package} from {period_start}, "
            f"committing {target} kW (reduced {reduction} kW in the plan's window)")
    results = []
    for name, key in (("reference_job", None), ("monthly_job", f"{period_start:%Y-%m-%d}")):
        started = time.perf_counter()
        results.append(run_job(defs, name, instance, partition_key=key, raise_on_error=False))
        timings.record(f"demand response {name}", started, results[-1].success)
        if not results[-1].success:
            break
    return results


OVERLOAD_FACTOR = 1.5  # kW per kVA of contract capacity: above VEE's physical max (1.2), below
#                        settlement parameter estimated_demand_plausible_factor (2.0)


def plant_overloads(data: Path, day: date, count: int = 4) -> None:
    """Genuine overloads for the demo's bill holds: the first `count` single-meter customers
    billed on actual demand get one quarter hour (14:00-14:15 on `day`) read at 1.5 × their
    contract kVA, re-delivered by the field team in its own file (the latest version wins).
    VEE keeps a read close to the customer's like-days (billed as read) and replaces the others
    as spikes (no register read confirms them), so their bills are held; `release_one_hold`
    later confirms one by an approved edit. With the default seed: two kept, two held."""
    import csv

    with open(data / "master" / "customers.csv", encoding="utf-8") as handle:
        customers = {r["customer_id"]: r for r in csv.DictReader(handle)
                     if r["tariff_type"] == "two_part"
                     and r["basic_charge_mode"] == "actual_demand"}
    with open(data / "master" / "metering_points.csv", encoding="utf-8") as handle:
        meters: dict[str, list[dict]] = {}
        for row in csv.DictReader(handle):
            meters.setdefault(row["customer_id"], []).append(row)
    chosen = [(cid, meters[cid][0]) for cid in sorted(customers)
              if len(meters.get(cid, ())) == 1 and meters[cid][0]["interval_minutes"] == "15"]
    path = data / "landing" / "reads" / f"reads_{day:%Y%m%d}_95.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["meter_id", "channel", "interval_end", "interval_minutes", "value",
                         "unit", "multiplier"])
        for cid, meter in chosen[:count]:
            kwh = float(customers[cid]["contract_capacity_kva"]) * OVERLOAD_FACTOR / 4
            writer.writerow([meter["meter_id"], "kwh_imp", f"{day:%Y-%m-%d} 14:15", 15,
                             f"{kwh:.3f}", "kWh", meter["multiplier"]])
            print(f"overload planted: {meter['meter_id']} ({cid}, "
                  f"{customers[cid]['contract_capacity_kva']} kVA) {day} 14:00 at {kwh:.3f} kWh")


HELD_MAX_DEMAND_SQL = """
select h.customer_id, v.meter_id, v.interval_start, v.raw_value
from finance.bill_holds h
join core.int_interval_validated v
    on v.customer_id = h.customer_id and v.interval_start = h.interval_start
   and v.channel = 'kwh_imp' and v.raw_value is not null
where h.period = ? and h.status in ('held', 'released') and h.determinant = 'max_demand'
order by h.customer_id, v.raw_value desc
limit 1
"""


def release_one_hold(defs, instance, timings, period_start: date) -> list:
    """Bills held because their max demand rests on an estimate (finance.bill_holds): an
    approved manual edit confirms the read value of the first one (approved the next day at
    10:00); re-running its day and the month releases that bill, the others stay held. A
    second demo writes the same edit for the same bill (released by then): nothing changes."""
    import csv
    from datetime import timedelta

    from assets.meters.manual_edits import EDIT_COLUMNS

    period = f"{period_start:%Y-%m}"
    with connect(warehouse_path(), read_only=True) as con:
        held = con.execute(HELD_MAX_DEMAND_SQL, [period]).fetchone()
    if held is None:
        say(f"no bill of {period} held on an estimated max demand: nothing to release")
        return []
    customer_id, meter_id, start, raw_value = held
    edits = data_dir() / "edits"
    edits.mkdir(parents=True, exist_ok=True)
    path = edits / f"edits_{period.replace('-', '')}_release.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EDIT_COLUMNS)
        writer.writerow([meter_id, "kwh_imp", f"{start:%Y-%m-%d %H:%M}", f"{raw_value:.3f}",
                         "overload confirmed on site (demo)", "演示审核员",
                         f"{start.date() + timedelta(days=1)} 10:00"])
    say(f"bill of {customer_id} {period} held on an estimated max demand: approved edit of "
          f"{meter_id} {start:%Y-%m-%d %H:%M} = {raw_value} kWh landed as {path.name}")
    return rerun_day_and_month(defs, instance, timings, start.date(), period_start,
                               "hold release")


def run_days(defs, instance, timings, first: date, last: date, label: str = "") -> list:
    """The daily job over a range of days (the month after the billed one, to mid-month)."""
    import time

    from orchestration.runner import RANGE_END, RANGE_START, run_job

    started = time.perf_counter()
    result = run_job(defs, "daily_job", instance, {RANGE_START: f"{first}", RANGE_END: f"{last}"},
                     raise_on_error=False)
    timings.record(f"{label} daily_job" if label else f"daily_job:{first}", started,
                   result.success)
    return [result]


def rerun_day_and_month(defs, instance, timings, day: date, period_start: date,
                        label: str) -> list:
    """The daily job for one day, then the monthly job of its month (timed as `label`)."""
    import time

    from orchestration.runner import run_job

    results = run_days(defs, instance, timings, day, day, label)
    if results[-1].success:
        started = time.perf_counter()
        results.append(run_job(defs, "monthly_job", instance,
                               partition_key=f"{period_start:%Y-%m-%d}", raise_on_error=False))
        timings.record(f"{label} monthly_job", started, results[-1].success)
    return results


def resettle(defs, instance, timings, period_start: date) -> list:
    """Close the month, land a corrected meter-day, re-run it: adjustments, not new bills."""

    from foundation.resources import Gridledger
    from tools.demo_resettlement import close_and_correct

    correction = close_and_correct(
        warehouse_path(), Gridledger.from_env().landing_dir, period_start)
    say(f"closed {correction.period}; corrected reads of {correction.meter_id} for "
          f"{correction.day} landed as {correction.file.name}")
    return rerun_day_and_month(defs, instance, timings, correction.day, period_start,
                               "re-settlement")


def run_analytics(defs, instance, timings) -> list:
    """analytics_job on the generated contract history: churn risk, value and credit grades,
    measures, the measure notices to the account managers and the BI mart."""
    return run_job_timed(defs, instance, timings, "analytics_job")


def run_job_timed(defs, instance, timings, job: str) -> list:
    """One unpartitioned job, timed (forecast_job: the load forecast from the last validated
    day, the next month's deviation projection and its notices)."""
    import time

    from orchestration.runner import run_job

    started = time.perf_counter()
    result = run_job(defs, job, instance, raise_on_error=False)
    timings.record(job, started, result.success)
    return [result]


def print_lines(con, queries: dict[str, str]) -> None:
    """One summary line per query: its label and first value, or why there is none."""
    for label, sql in queries.items():
        try:
            value = con.execute(sql).fetchone()[0]
        except Exception as exc:  # noqa: BLE001 - a missing stage is part of the summary
            value = f"n/a ({type(exc).__name__})"
        print(f"  {label:<26} {value}")


def print_analytics(con) -> None:
    """The churn table and grades of analytics_job (lines after the summary's others)."""
    print_lines(con, ANALYTICS_SQL)
    try:
        top = con.execute(TOP_CHURN_SQL).fetchall()
    except Exception:  # noqa: BLE001 - analytics_job did not run
        return
    print(f"  {'top 5 by P(churn 90 days)':<26} customer   P(%)  band    value credit measure")
    for customer_id, pct, band, value, credit, measure in top:
        print(f"  {'':<26} {customer_id:<10} {pct:5.1f}  {band:<7} {value:<5} {credit:<6} "
              f"{measure}")


def print_top_savings(con) -> None:
    """The three largest savings of the package re-rating (analytics.package_whatif_summary:
    each customer's validated months priced under every package it is eligible for)."""
    try:
        top = con.execute(TOP_SAVINGS_SQL).fetchall()
    except Exception:  # noqa: BLE001 - the monthly job did not build the what-if
        return
    print(f"  {'top 3 re-rating savings':<26} customer   {'current → best':<28} months "
          f"  yuan/month saving/month deviation Δ")
    if not top:
        print(f"  {'':<26} none: every customer is on its cheapest eligible package")
    for customer_id, current, best, months, per_month, saving, deviation in top:
        print(f"  {'':<26} {customer_id:<10} {current} → {best:<12} {months:>3} "
              f"{per_month:>12} {saving:>12} {deviation:>11}")


def print_forecast(con) -> None:
    """The forecast, the projection's states and its three largest expected costs."""
    print_lines(con, FORECAST_SQL)
    try:
        top = con.execute(TOP_PROJECTION_SQL).fetchall()
    except Exception:  # noqa: BLE001 - forecast_job did not run
        return
    print(f"  {'top 3 expected deviation':<26} contract   contracted kWh  P10 / P50 / P90 kWh"
          "  expected yuan  state")
    for contract, contracted, p10, p50, p90, cost, state in top:
        print(f"  {'':<26} {contract:<10} {contracted:>14} {p10} / {p50} / {p90} "
              f"{cost:>10}  {state}")


def print_summary() -> None:
    """Print the headline numbers and where the results are."""
    print("\nGridledger demo summary")
    with connect(warehouse_path(), read_only=True) as con:
        print_lines(con, SUMMARY_SQL)
        print_top_savings(con)
        print_analytics(con)
        print_forecast(con)
    print(f"\nwarehouse:  {warehouse_path()}  (finance.bills, finance.bill_lines, "
          "finance.adjustments, finance.retailer_margin, marts.alerts)")
    print(f"BI:         {bi_snapshot_path()}  (read-only snapshot of finance and marts, "
          "refreshed by every daily and monthly run: open this one from BI tools, never the "
          "warehouse)")
    print("console:    make console  → http://127.0.0.1:8501  (finance and operations console "
          "on the BI snapshot; another port with make console PORT=8502)")
    print(f"bills:      {data_dir().parent / 'bills'}  (notices: <YYYY-MM>/adjustments/)")
    print("outbox:     notify.outbox and notify.delivery_ledger in the warehouse")
    print("UI:         make ui  → http://127.0.0.1:3000")
    print(f"SMS query:  make serve-sms  → http://127.0.0.1:8025 (answers from "
          f"{service_snapshot_path()})")


if __name__ == "__main__":
    raise SystemExit(main())
