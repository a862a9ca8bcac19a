"""`make demo`: generate a sample month, land it, run the whole graph, print a summary.

Runs the same jobs as the UI, on a persistent Dagster instance (`var/dagster_home`), so
`make ui` shows the runs, materializations and checks afterwards.
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path

from foundation.months import last_day_of_span
from foundation.paths import PROJECT_ROOT, data_dir, warehouse_path
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
        "select string_agg(status || '=' || n, ', ') from ("
        "select status, count(*) n from workflow.termination_requests group by 1)"
    ),
    "curtailment results": (
        "select count(*) || ' customers, ' || count(*) filter (where met) || ' met target' "
        "from workflow.curtailment_results"
    ),
    "duplicate ledger keys": (
        "select count(*) - count(distinct idempotency_key) from notify.delivery_ledger"
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=60)
    parser.add_argument("--start", default="2026-10", help="first month, YYYY-MM")
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "var" / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    from dagster import DagsterInstance

    from orchestration.build import build_defs
    from orchestration.runner import run_flow
    from tools.sample_data import generate

    manifest = generate(data_dir(), args.meters, args.months, args.start, args.seed)
    first = date.fromisoformat(f"{args.start}-01")
    last = last_day_of_span(args.start, args.months)
    print(
        f"generated {manifest['meters']} meters, {args.start} + {args.months} month(s), "
        f"into {data_dir()}"
    )
    defs = build_defs()
    with DagsterInstance.get() as instance:
        results, timings = run_flow(defs, first, last, instance, raise_on_error=False)
        if all(r.success for r in results):
            results += run_workflows(defs, instance, timings)
        if all(r.success for r in results):
            results += resettle(defs, instance, timings, first)
    for step, seconds in timings.seconds.items():
        print(f"  {step:<32} {seconds:7.1f} s")
    ok = all(r.success for r in results)
    print_summary()
    if not ok:
        print("\nA run failed: see `make ui` (Runs) for the failed step and check.")
    return 0 if ok else 1


def run_workflows(defs, instance, timings) -> list:
    """Demo inbox: two termination requests (one paid, one failed) and a curtailment plan,
    evaluated at its notice, reminder, all-clear and results times."""
    import time

    from orchestration.runner import run_job
    from tools.demo_inbox import write_demo_inbox

    inbox = write_demo_inbox(data_dir(), warehouse_path())
    results = []
    started = time.perf_counter()
    results.append(run_job(defs, "termination_job", instance, raise_on_error=False))
    timings.seconds["termination_job"] = time.perf_counter() - started
    for stage, moment in inbox.evaluation_times.items():
        started = time.perf_counter()
        config = {"ops": {"curtailment_workflow": {"config": {"now": f"{moment:%Y-%m-%d %H:%M}"}}}}
        job = defs.resolve_job_def("curtailment_job")
        results.append(job.execute_in_process(
            instance=instance, run_config=config, raise_on_error=False
        ))
        timings.seconds[f"curtailment_job:{stage}"] = time.perf_counter() - started
    return results


def resettle(defs, instance, timings, period_start: date) -> list:
    """Close the month, land a corrected meter-day, re-run it: adjustments, not new bills."""
    import time

    from foundation.resources import Gridledger
    from orchestration.runner import RANGE_END, RANGE_START, run_job
    from tools.demo_resettlement import close_and_correct

    correction = close_and_correct(
        warehouse_path(), Gridledger.from_env().landing_dir, period_start)
    print(f"closed {correction.period}; corrected reads of {correction.meter_id} for "
          f"{correction.day} landed as {correction.file.name}")
    results, day = [], correction.day.isoformat()
    for name, tags, key in (("daily_job", {RANGE_START: day, RANGE_END: day}, None),
                            ("monthly_job", {}, f"{period_start:%Y-%m-%d}")):
        started = time.perf_counter()
        results.append(run_job(defs, name, instance, tags, partition_key=key,
                               raise_on_error=False))
        timings.seconds[f"re-settlement {name}"] = time.perf_counter() - started
    return results


def print_summary() -> None:
    """Print the headline numbers and where the results are."""
    print("\nGridledger demo summary")
    with connect(warehouse_path(), read_only=True) as con:
        for label, sql in SUMMARY_SQL.items():
            try:
                value = con.execute(sql).fetchone()[0]
            except Exception as exc:  # noqa: BLE001 - a missing stage is part of the summary
                value = f"n/a ({type(exc).__name__})"
            print(f"  {label:<26} {value}")
    print(f"\nwarehouse:  {warehouse_path()}  (finance.bills, finance.bill_lines, "
          "finance.adjustments, finance.retailer_margin, marts.alerts)")
    print(f"bills:      {data_dir().parent / 'bills'}")
    print("outbox:     notify.outbox and notify.delivery_ledger in the warehouse")
    print("UI:         make ui  → http://127.0.0.1:3000")


if __name__ == "__main__":
    raise SystemExit(main())
