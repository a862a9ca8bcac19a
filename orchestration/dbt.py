"""The dbt project as Dagster assets: config (unpartitioned), daily and monthly model sets.

Partition windows reach dbt as `--vars {min_date, max_date}` ([start, end) of the run's
partition range); window-incremental models delete and rebuild exactly that window.
"""

import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from foundation.partitions import daily_partitions, monthly_partitions
from foundation.paths import TRANSFORMS_DIR
from foundation.resources import Gridledger

DBT_PROJECT_DIR = TRANSFORMS_DIR
PARTITIONED = "tag:daily tag:monthly"


@cache
def dbt_project() -> DbtProject:
    """The dbt project, with a manifest re-parsed whenever a project file is newer than it."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if _manifest_is_stale(project.manifest_path):
        DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=_dbt_executable(),
        ).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def _dbt_executable() -> str:
    """The venv's dbt next to this interpreter, whatever PATH says."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def _manifest_is_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [
        p
        for sub in ("models", "seeds", "macros", "tests")
        for p in (DBT_PROJECT_DIR / sub).rglob("*")
        if p.is_file()
    ]
    sources.append(DBT_PROJECT_DIR / "dbt_project.yml")
    return any(p.stat().st_mtime > built for p in sources)


class GridledgerTranslator(DagsterDbtTranslator):
    """Group dbt nodes by stage: reference, validation (daily), settlement and finance (monthly),
    and quality (monthly VEE reports: meter quality summary, meter anomalies)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        tags = dbt_resource_props.get("tags", [])
        fqn = dbt_resource_props.get("fqn", [])
        if "daily" in tags:
            return "validation"
        if "monthly" in tags:
            if "quality" in tags:
                return "quality"
            return "finance" if "finance" in fqn else "settlement"
        return "reference"


def window_vars(start: datetime, end: datetime) -> dict[str, str]:
    """dbt vars for a partition window [start, end)."""
    return {"min_date": start.strftime("%Y-%m-%d"), "max_date": end.strftime("%Y-%m-%d")}


def dbt_build_args(context: AssetExecutionContext) -> list[str]:
    """`dbt build` with the run's partition window as vars, when the assets are partitioned.

    dbt unit tests (fixed given rows, e.g. core/vee/_vee_unit_tests.yml) are left out: they test
    the SQL, not the day's data, and run in CI (`dbt test --select test_type:unit`); in a build
    dbt would run them before their model on every run (seconds each for the VEE model)."""
    args = ["build", "--indirect-selection", "buildable", "--exclude-resource-type", "unit_test"]
    if context.has_partition_key_range or context.has_partition_key:
        window = context.partition_time_window
        args += ["--vars", json.dumps(window_vars(window.start, window.end))]
    return args


def _env(gridledger: Gridledger) -> dict[str, str]:
    return {"GRIDLEDGER_WAREHOUSE": gridledger.warehouse}


def _stream(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
    os.environ.update(_env(gridledger))  # dbt's profile reads the warehouse path from env
    yield from dbt.cli(dbt_build_args(context), context=context).stream()


@cache
def build_dbt_assets() -> list:
    """The three dbt asset sets."""
    manifest = dbt_project().manifest_path
    translator = GridledgerTranslator()

    @dbt_assets(
        manifest=manifest,
        exclude=PARTITIONED,
        name="dbt_config",
        dagster_dbt_translator=translator,
        project=dbt_project(),
    )
    def dbt_config(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
        yield from _stream(context, dbt, gridledger)

    @dbt_assets(
        manifest=manifest,
        select="tag:daily",
        name="dbt_daily",
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
        project=dbt_project(),
    )
    def dbt_daily(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
        yield from _stream(context, dbt, gridledger)

    @dbt_assets(
        manifest=manifest,
        select="tag:monthly",
        name="dbt_monthly",
        partitions_def=monthly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
        project=dbt_project(),
    )
    def dbt_monthly(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
        yield from _stream(context, dbt, gridledger)

    return [dbt_config, dbt_daily, dbt_monthly]


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource for this project."""
    return DbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=_dbt_executable(),
    )
