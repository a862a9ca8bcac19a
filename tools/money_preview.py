"""Preview a change in the money before anything is published.

    python -m tools.money_preview --warehouse var/warehouse.duckdb [--base HEAD]

Copies the warehouse to a scratch folder, builds SQLMesh `prod` there from the committed dbt
project (`git archive <base> transforms`, read-only) and a virtual `dev` environment from the
working tree's `transforms/` (changed tariffs, packages, parameters or settlement SQL), then runs

    sqlmesh table_diff prod:dev finance.bills --on customer_id --on period

and prints, per customer and month, three figures: **issued** (finance.bills as the warehouse
holds them: what customers were billed), **recomputed** (the committed logic on today's reads) and
**preview** (the working tree's logic), with Δ = preview − recomputed, the change's own effect.
Only the scratch copy is written; the warehouse, the repository and dbt's target/ are never
touched.

Both environments recompute every month from the validated reads (the models' first build). A
month finance has closed (finance.period_close) keeps its issued bills; for those the preview
also lists the adjustments (追退补) a re-settlement under the change would produce: preview −
issued per customer. Not here: publishing (that is the monthly Dagster job).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from foundation.paths import PROJECT_ROOT, RESTRICTED_ENV
from foundation.warehouse import copy_warehouse

TRANSFORMS = PROJECT_ROOT / "transforms"
# schemas dbt builds (rebuilt by SQLMesh in the copy); raw, master, restricted, workflow and
# notify are inputs and stay as they are
DBT_SCHEMAS = ("config", "staging", "core", "marts", "finance")
IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", ".cache", "__pycache__")

# the issued bills and closed months, kept in the scratch copy before SQLMesh rebuilds finance
ISSUED_SCHEMA = "issued"
KEEP_ISSUED = ("bills", "period_close")

# one row per customer-month in any of the three: issued, recomputed (prod), preview (dev)
BILLS_SQL = f"""
with keys as (
    select customer_id, period from {ISSUED_SCHEMA}.bills
    union select customer_id, period from finance.bills
    union select customer_id, period from finance__dev.bills
)
select k.customer_id, k.period, c.period is not null as closed,
       i.total_yuan as issued_yuan, p.total_yuan as recomputed_yuan,
       d.total_yuan as preview_yuan,
       coalesce(d.total_yuan, 0) - coalesce(p.total_yuan, 0) as delta_yuan,
       coalesce(d.total_yuan, 0) - coalesce(i.total_yuan, 0) as adjustment_yuan
from keys k
left join {ISSUED_SCHEMA}.bills i using (customer_id, period)
left join finance.bills p using (customer_id, period)
left join finance__dev.bills d using (customer_id, period)
left join {ISSUED_SCHEMA}.period_close c on c.period = k.period
"""

PERIOD_TOTALS_SQL = f"""
select period, case when bool_or(closed) then 'closed' else 'open' end,
       count(*), count(*) filter (where delta_yuan <> 0),
       sum(issued_yuan), sum(recomputed_yuan), sum(preview_yuan), sum(delta_yuan)
from ({BILLS_SQL}) group by period order by period
"""

CHANGED_BILLS_SQL = f"""
select customer_id, period, issued_yuan, recomputed_yuan, preview_yuan, delta_yuan
from ({BILLS_SQL}) where delta_yuan <> 0
order by abs(delta_yuan) desc, 1, 2
"""

# closed months: what a re-settlement under the change would put into finance.adjustments
CLOSED_ADJUSTMENTS_SQL = f"""
select customer_id, period, issued_yuan, preview_yuan, adjustment_yuan
from ({BILLS_SQL}) where closed and delta_yuan <> 0
order by abs(adjustment_yuan) desc, 1, 2
"""


def export_base(ref: str, into: Path) -> Path:
    """The committed transforms/ at `ref`, via `git archive` (reads the repository only)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", ref, "transforms"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return with_sqlmesh_config(into / "transforms")


def copy_project(source: Path, into: Path) -> Path:
    """A copy of a transforms/ folder (without dbt's build output) at `into`."""
    shutil.copytree(source, into, ignore=IGNORE)
    return with_sqlmesh_config(into)


def with_sqlmesh_config(project: Path) -> Path:
    """The project, given this repository's SQLMesh config.py if it has none (a base from
    before SQLMesh was configured)."""
    if not (project / "config.py").exists():
        shutil.copy(TRANSFORMS / "config.py", project / "config.py")
    return project


def scratch_warehouse(source: Path, folder: Path) -> Path:
    """Copy of the warehouse (same file name, so the same catalog) and of its restricted file
    (beside it, where transforms/config.py attaches it), without dbt's relations."""
    target = copy_warehouse(source, folder / source.name)
    with duckdb.connect(str(target)) as con:
        keep_issued(con)
        relations = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where table_schema in {DBT_SCHEMAS}").fetchall()
        for schema, name, kind in relations:
            con.execute(f'drop {"view" if kind == "VIEW" else "table"} "{schema}"."{name}" cascade')
    return target


def keep_issued(con: duckdb.DuckDBPyConnection) -> None:
    """Copy the issued bills and the closed months to the schema `issued` (empty when the
    warehouse has none yet), before SQLMesh rebuilds the finance tables."""
    con.execute(f"create schema if not exists {ISSUED_SCHEMA}")
    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'finance'"
    ).fetchall()}
    empty = {"bills": "customer_id varchar, period varchar, total_yuan decimal(18, 2)",
             "period_close": "period varchar"}
    for table in KEEP_ISSUED:
        source = (f"select * from finance.{table}" if table in present else None)
        if source:
            con.execute(f"create or replace table {ISSUED_SCHEMA}.{table} as {source}")
        else:
            con.execute(f"create or replace table {ISSUED_SCHEMA}.{table} ({empty[table]})")


def sqlmesh(project: Path, env: dict[str, str], *args: str) -> None:
    """Run the venv's sqlmesh on a project; its output goes straight to the terminal."""
    executable = Path(sys.executable).parent / "sqlmesh"
    command = [str(executable if executable.exists() else "sqlmesh"), "-p", str(project), *args]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, env=env)


def print_changes(warehouse: Path, limit: int) -> int:
    """Per-month totals, the customers whose bill the change moves (largest first) and, for
    closed months, the adjustments it would produce."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        totals = con.execute(PERIOD_TOTALS_SQL).fetchall()
        changed = con.execute(CHANGED_BILLS_SQL).fetchall()
        adjustments = con.execute(CLOSED_ADJUSTMENTS_SQL).fetchall()
    print("\nBills per month (issued = finance.bills as billed; recomputed = committed logic on "
          "today's reads; preview = working tree; Δ = preview − recomputed):")
    print("| period | month | bills | changed | issued 元 | recomputed 元 | preview 元 | Δ 元 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for period, state, bills, n_changed, issued, recomputed, preview, delta in totals:
        print(f"| {period} | {state} | {bills} | {n_changed} | {_yuan(issued)} | "
              f"{_yuan(recomputed)} | {_yuan(preview)} | {delta:+} |")
    print(f"\nCustomers whose bill the change moves ({len(changed)}; largest first, at most "
          f"{limit}):")
    print("| customer | period | issued 元 | recomputed 元 | preview 元 | Δ 元 |")
    print("|---|---|---:|---:|---:|---:|")
    for customer, period, issued, recomputed, preview, delta in changed[:limit]:
        print(f"| {customer} | {period} | {_yuan(issued)} | {_yuan(recomputed)} | "
              f"{_yuan(preview)} | {delta:+} |")
    print(f"\nClosed months: adjustments (追退补) a re-settlement under the change would produce, "
          f"preview − issued; the issued bills stay ({len(adjustments)}):")
    print("| customer | period | issued 元 | preview 元 | adjustment 元 |")
    print("|---|---|---:|---:|---:|")
    for customer, period, issued, preview, adjustment in adjustments[:limit]:
        print(f"| {customer} | {period} | {_yuan(issued)} | {_yuan(preview)} | {adjustment:+} |")
    return len(changed)


def _yuan(amount) -> str:
    """An amount as printed, '—' where the month has no such bill."""
    return "—" if amount is None else str(amount)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True, type=Path, help="warehouse to preview on")
    parser.add_argument("--base", default="HEAD", help="git ref of the published logic")
    parser.add_argument("--base-dir", type=Path,
                        help="a transforms/ folder holding the published logic (instead of git)")
    parser.add_argument("--preview-dir", type=Path, default=TRANSFORMS,
                        help="the transforms/ folder holding the change (default: working tree)")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--limit", type=int, default=30, help="changed bills to list")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="money_preview_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.base_dir:
            base = copy_project(args.base_dir, workdir / "base" / "transforms")
        else:
            base = export_base(args.base, workdir / "base")
        work = copy_project(args.preview_dir, workdir / "work" / "transforms")
        warehouse = scratch_warehouse(args.warehouse.resolve(), workdir)
        env = {**os.environ, "GRIDLEDGER_WAREHOUSE": str(warehouse)}
        env.pop(RESTRICTED_ENV, None)  # the copy's restricted file is the one beside it
        sqlmesh(base, env, "plan", "--auto-apply", "--no-prompts")
        sqlmesh(work, env, "plan", "dev", "--auto-apply", "--no-prompts", "--include-unmodified")
        sqlmesh(work, env, "table_diff", "prod:dev", "finance.bills", "--on", "customer_id",
                "--on", "period", "--skip-columns", "run_id", "--show-sample", "--decimals", "2")
        print_changes(warehouse, args.limit)
    finally:
        if args.keep or args.workdir:
            print(f"\nscratch kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
