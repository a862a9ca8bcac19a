"""The dbt project as Dagster assets: config (unpartitioned), daily and monthly model sets.

Partition windows reach dbt as `--vars {min_date, max_date}` ([start, end) of the run's
partition range); window-incremental models delete and rebuild exactly that window.

The run's warehouse (the `gridledger` resource) reaches dbt the same way, as the var
`gridledger_warehouse` that `transforms/profiles.yml` reads before `$GRIDLEDGER_WAREHOUSE`: each
invocation names its own warehouse on its command line and nothing writes the process env, so
two runs on two warehouses in one process cannot see each other's path. Its restricted file
(`foundation.paths.restricted_path`) goes along as `gridledger_restricted`; the profile attaches
it read-only, so it is created (and an old in-file `restricted` schema moved into it) by one
writable `connect` before dbt starts.
"""

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    PartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from foundation.partitions import daily_partitions, monthly_partitions
from foundation.paths import TRANSFORMS_DIR, restricted_path
from foundation.resources import Gridledger
from foundation.warehouse import connect

DBT_PROJECT_DIR = TRANSFORMS_DIR
PARTITIONED = "tag:daily tag:monthly"
WAREHOUSE_VAR = "gridledger_warehouse"  # read by transforms/profiles.yml
RESTRICTED_VAR = "gridledger_restricted"  # likewise: the restricted file it attaches


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
    and quality (monthly VEE reports: meter quality summary, meter anomalies).

    Asset keys are [schema, table]: a model's alias (its table name) rather than its file name,
    so a model renamed for its layer prefix (fct_meter_anomalies, alias meter_anomalies) keeps
    its table and its asset key core/meter_anomalies."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        key = super().get_asset_key(dbt_resource_props)
        name, alias = dbt_resource_props.get("name"), dbt_resource_props.get("alias")
        if dbt_resource_props.get("resource_type") == "model" and alias and key.path[-1] == name:
            return AssetKey([*key.path[:-1], alias])
        return key

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


_TRANSLATOR = GridledgerTranslator()


def window_vars(start: datetime, end: datetime) -> dict[str, str]:
    """dbt vars for a partition window [start, end)."""
    return {"min_date": start.strftime("%Y-%m-%d"), "max_date": end.strftime("%Y-%m-%d")}


def dbt_build_args(context: AssetExecutionContext, warehouse: str | None = None) -> list[str]:
    """`dbt build` with the run's partition window as vars (when the assets are partitioned)
    and the warehouse the profile connects to (when given). dbt unit tests (fixed inputs,
    nothing to learn from production data) are left to `dbt test --select test_type:unit`
    (tests/unit/test_dbt_unit_tests.py)."""
    args = ["build", "--indirect-selection", "buildable", "--exclude-resource-type", "unit_test"]
    dbt_vars: dict[str, str] = {}
    if context.has_partition_key_range or context.has_partition_key:
        window = context.partition_time_window
        dbt_vars.update(window_vars(window.start, window.end))
    if warehouse is not None:
        dbt_vars[WAREHOUSE_VAR] = warehouse
        dbt_vars[RESTRICTED_VAR] = str(restricted_path(warehouse))
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    return args


def _stream(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
    with connect(gridledger.warehouse):  # the restricted file exists (and is migrated)
        pass
    yield from dbt.cli(dbt_build_args(context, gridledger.warehouse), context=context).stream()


@cache
def build_dbt_assets() -> list:
    """The three dbt asset sets."""
    return [
        _dbt_asset_set("dbt_config", exclude=PARTITIONED),
        _dbt_asset_set("dbt_daily", daily_partitions, select="tag:daily"),
        _dbt_asset_set("dbt_monthly", monthly_partitions, select="tag:monthly"),
    ]


def _dbt_asset_set(name: str, partitions_def: PartitionsDefinition | None = None,
                   **selection: str) -> AssetsDefinition:
    """One `dbt build` asset set; partitioned sets run a partition range in one dbt build."""

    @dbt_assets(
        manifest=dbt_project().manifest_path,
        name=name,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run() if partitions_def else None,
        dagster_dbt_translator=_TRANSLATOR,
        project=dbt_project(),
        **selection,
    )
    def dbt_asset_set(
        context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger
    ):
        yield from _stream(context, dbt, gridledger)

    return dbt_asset_set


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource for this project."""
    return DbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=_dbt_executable(),
    )
