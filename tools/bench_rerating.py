"""The package re-rating at 12 months on a 1-month bench warehouse: its models timed alone.

`make bench` builds N meters × one month. Twelve real months of 10,000 meters would take the
ingestion and VEE of ~700 M readings; the re-rating models only read customer-months. So this
copies a bench warehouse (`python -m tools.bench --meters N` leaves it in var/bench/mN) and
fills the 11 months before its last month with **copies of that month's customer-month rows**
(period and its dates moved back; every other value, kWh included, as in the last month) in the
four tables the re-rating reads: core.int_customer_month, core.int_customer_month_segments,
core.fct_deviation_tiers and core.fct_settlement_lines. Then it runs the re-rating models
(`RERATING_MODELS` of tools.bench, with core.int_package_block_prices they price from) through
the platform's dbt launcher with the last month's window, as the money run does, and prints each
model's seconds (run_results.json) and the rows it priced.

The copies are for timing only: months of equal length and equal consumption, so the money is
not checked here (the models' tests are not run). What is measured is the SQL at the target's
cardinality: N customers × 12 months × every package.

    python -m tools.bench_rerating --source var/bench/m10000 [--months 12]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from foundation.paths import PROJECT_ROOT, restricted_path
from foundation.warehouse import connect, copy_warehouse
from orchestration import dbt_launcher
from orchestration.dbt import RESTRICTED_VAR, WAREHOUSE_VAR
from tools.bench import RERATING_MODELS, MemorySampler, dbt_model_seconds

TRANSFORMS = PROJECT_ROOT / "transforms"
# the tables the re-rating reads per customer-month, and their columns that name the month
COPIED = ("core.int_customer_month", "core.int_customer_month_segments",
          "core.fct_deviation_tiers", "core.fct_settlement_lines")
MONTH_DATES = {"period_start": "date", "segment_from": "date", "segment_to": "date",
               "service_from": "date", "service_to": "date",
               "demand_estimate_interval": "timestamp"}
PRICES = "int_package_block_prices"  # the package prices of every month, rebuilt first


def fill_earlier_months(con, months: int) -> str:
    """Copy the last month's rows of `COPIED` into the `months - 1` months before it (only where
    a month has no rows); return the last month."""
    last = con.execute("select max(period) from core.int_customer_month").fetchone()[0]
    for table in COPIED:
        schema, name = table.split(".")
        columns = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position", [schema, name]).fetchall()]
        present = {r[0] for r in con.execute(f"select distinct period from {table}").fetchall()}
        for k in range(1, months):
            period = con.execute("select strftime(?::date - to_months(?), '%Y-%m')",
                                 [f"{last}-01", k]).fetchone()[0]
            if period in present:
                continue
            select = ", ".join(
                f"'{period}' as period" if c == "period"
                else f"({c} - to_months({k}))::{MONTH_DATES[c]} as {c}" if c in MONTH_DATES
                else c
                for c in columns)
            con.execute(f"insert into {table} by name select {select} from {table} "
                        "where period = ?", [last])
    return last


def run_dbt(warehouse: Path, last: str, *command: str) -> subprocess.CompletedProcess:
    """`dbt <command>` on `warehouse` with the last month's window, as the money run has it."""
    start = f"{last}-01"
    dbt_vars = {"min_date": start, "max_date": _next_month(start),
                WAREHOUSE_VAR: str(warehouse), RESTRICTED_VAR: str(restricted_path(warehouse))}
    target = TRANSFORMS / "target" / "bench_rerating"
    args = [*command, "--vars", json.dumps(dbt_vars)]
    dbt_launcher.seed_parse(target, args)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "GRIDLEDGER_WAREHOUSE": str(warehouse)}
    return subprocess.run(
        [dbt_launcher.launcher(), *args, "--project-dir", str(TRANSFORMS), "--profiles-dir",
         str(TRANSFORMS), "--target-path", str(target), "--log-path", str(target)],
        cwd=TRANSFORMS, env=env, capture_output=True, text=True)


def _next_month(day: str) -> str:
    from foundation.months import add_months

    return f"{add_months(day[:7], 1)}-01"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True,
                        help="a bench folder with warehouse.duckdb (e.g. var/bench/m10000)")
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args(argv)
    source = Path(args.source) / "warehouse.duckdb"
    if not source.exists():
        parser.error(f"{source} does not exist: run `python -m tools.bench --meters N` first")
    if not 1 <= args.months <= 12:
        parser.error("--months: 1 to 12 (the re-rating window is 12 months)")
    source_dir = Path(args.source).resolve()
    root = source_dir.with_name(f"{source_dir.name}-rerating{args.months}")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    warehouse = copy_warehouse(source, root / "warehouse.duckdb")

    with MemorySampler() as sampler:
        started = time.time()
        with connect(warehouse) as con:
            last = fill_earlier_months(con, args.months)
        # the seeds as the code has them (a warehouse from an older bench may lack a new one)
        seeded = run_dbt(warehouse, last, "seed")
        copied = time.time()
        done = run_dbt(warehouse, last, "run", "--select", PRICES, *RERATING_MODELS)
        ended = time.time()
    for step in (seeded, done):
        if step.returncode != 0:
            print(step.stdout[-4000:], step.stderr[-2000:])
            return 1
    seconds = dbt_model_seconds(copied)
    with connect(warehouse, read_only=True) as con:
        customers, months, customer_months = con.execute(
            "select count(distinct customer_id), count(distinct period), "
            "count(distinct (customer_id, period)) from analytics.package_whatif").fetchone()
        candidates = con.execute("select count(*) from core.int_package_eligibility "
                                 "where eligible").fetchone()[0]
        lines = con.execute("select count(*) from core.fct_package_whatif_lines").fetchone()[0]
    print(f"\npackage re-rating: {customers:,} customers × {months} months = "
          f"{customer_months:,} customer-months, {candidates:,} eligible customer-month × "
          f"package pairs, {lines:,} what-if lines (months before {last}: copies of {last})")
    print(f"copy of the earlier months and dbt seed (not re-rating): {copied - started:.1f} s")
    print("\n| model | seconds |\n|---|---:|")
    for model in (PRICES, *RERATING_MODELS):
        print(f"| {model} | {seconds.get(model, 0.0):.1f} |")
    total = sum(seconds.get(m, 0.0) for m in RERATING_MODELS)
    print(f"| **re-rating models, total** | **{total:.1f}** |")
    print(f"| dbt run, whole process (parse, {PRICES}, re-rating) | {ended - copied:.1f} |")
    print(f"\npeak MB (this process and dbt): {sampler.peak_mb(copied, ended):,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
