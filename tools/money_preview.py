"""Preview a change in the money before anything is published.

    python -m tools.money_preview --warehouse var/warehouse.duckdb [--base HEAD]

Copies the warehouse to a scratch folder, builds SQLMesh `prod` there from the committed dbt
project (`git archive <base> transforms`, read-only) and a virtual `dev` environment from the
working tree's `transforms/` (changed tariffs, packages, parameters or settlement SQL), then runs

    sqlmesh table_diff prod:dev finance.bills --on customer_id --on period

and prints, per customer and month, the bill total before and after and the difference. Only the
scratch copy is written; the warehouse, the repository and dbt's target/ are never touched.

Both environments recompute every month from the validated reads (the models' first build), so a
month finance has closed shows what a re-settlement would put into finance.adjustments; its
issued bills never change. Not here: publishing (that is the monthly Dagster job).
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

CHANGED_BILLS_SQL = """
select coalesce(p.customer_id, d.customer_id) as customer_id,
       coalesce(p.period, d.period) as period,
       p.total_yuan as published_yuan, d.total_yuan as preview_yuan,
       coalesce(d.total_yuan, 0) - coalesce(p.total_yuan, 0) as delta_yuan
from finance.bills p
full join finance__dev.bills d using (customer_id, period)
where p.total_yuan is distinct from d.total_yuan
order by abs(coalesce(d.total_yuan, 0) - coalesce(p.total_yuan, 0)) desc, 1, 2
"""

PERIOD_TOTALS_SQL = """
select period, count(*) filter (where p.total_yuan is distinct from d.total_yuan) as changed,
       count(*) as bills, sum(p.total_yuan) as published_yuan, sum(d.total_yuan) as preview_yuan,
       coalesce(sum(d.total_yuan), 0) - coalesce(sum(p.total_yuan), 0) as delta_yuan
from finance.bills p
full join finance__dev.bills d using (customer_id, period)
group by all
order by period
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
        relations = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where table_schema in {DBT_SCHEMAS}").fetchall()
        for schema, name, kind in relations:
            con.execute(f'drop {"view" if kind == "VIEW" else "table"} "{schema}"."{name}" cascade')
    return target


def sqlmesh(project: Path, env: dict[str, str], *args: str) -> None:
    """Run the venv's sqlmesh on a project; its output goes straight to the terminal."""
    executable = Path(sys.executable).parent / "sqlmesh"
    command = [str(executable if executable.exists() else "sqlmesh"), "-p", str(project), *args]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, env=env)


def print_changes(warehouse: Path, limit: int) -> int:
    """Per-month totals and the customers whose bill changes, largest change first."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        totals = con.execute(PERIOD_TOTALS_SQL).fetchall()
        changed = con.execute(CHANGED_BILLS_SQL).fetchall()
    print("\nBills per month (published = committed logic, preview = working tree):")
    print("| period | bills | changed | published 元 | preview 元 | Δ 元 |")
    print("|---|---:|---:|---:|---:|---:|")
    for period, n_changed, bills, published, preview, delta in totals:
        print(f"| {period} | {bills} | {n_changed} | {published} | {preview} | {delta:+} |")
    print(f"\nCustomers whose bill changes ({len(changed)}; largest first, at most {limit}):")
    print("| customer | period | published 元 | preview 元 | Δ 元 |")
    print("|---|---|---:|---:|---:|")
    for customer, period, published, preview, delta in changed[:limit]:
        print(f"| {customer} | {period} | {published} | {preview} | {delta:+} |")
    return len(changed)


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
