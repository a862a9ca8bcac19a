"""The dbt project as Dagster assets: config (unpartitioned), daily and monthly model sets, and
the analytics marts (unpartitioned, tag `analytics`, built by analytics_job only: they read the
tables its Python assets write, which a warehouse where analytics_job never ran does not have),
and likewise the models over the load forecast (tag `forecast`, built by forecast_job only) and
the one it reads (tag `forecast_input`: the like-day levels, built by forecast_job before it).

Partition windows reach dbt as `--vars {min_date, max_date}` ([start, end) of the run's
partition range); window-incremental models delete and rebuild exactly that window.

The run's warehouse (the `gridledger` resource) reaches dbt the same way, as the var
`gridledger_warehouse` that `transforms/profiles.yml` reads before `$GRIDLEDGER_WAREHOUSE`: each
invocation names its own warehouse on its command line and nothing writes the process env, so
two runs on two warehouses in one process cannot see each other's path. Its restricted file
(`foundation.paths.restricted_path`) goes along as `gridledger_restricted`; the profile attaches
it read-only, so it is created (and an old in-file `restricted` schema moved into it) by one
writable `connect` before dbt starts.

Every model's materialization carries its row count and column schema (dagster-dbt's
`fetch_row_counts()` / `fetch_column_metadata()`): for DuckDB, dagster-dbt runs those queries in
this process only after the dbt process has exited and released the warehouse (one writer), and
reads each table's name from the run's own manifest, where the finance models are in the staging
schema the run built them in.

The monthly set builds and tests the finance models in `finance_staging` (var `finance_schema`),
staged from the published `finance` tables first and sealed when every model and test passed;
the asset `finance/publish` (orchestration/publish.py) then publishes them in one transaction
(assets/settlement/publish.py). Every monthly model depends on `settlement/config_preflight`, so
a month with missing config rows fails before anything is built.
"""

import fcntl
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Output,
    PartitionsDefinition,
    TableColumn,
    TableSchema,
)
from dagster._core.definitions.metadata import TableMetadataSet
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from assets.settlement import publish as finance_publish
from assets.settlement.preflight import PREFLIGHT_KEY
from foundation.partitions import daily_partitions, monthly_partitions
from foundation.paths import TRANSFORMS_DIR, restricted_path
from foundation.resources import Gridledger
from foundation.warehouse import connect
from orchestration import dbt_launcher

DBT_PROJECT_DIR = TRANSFORMS_DIR
PARTITIONED = "tag:daily tag:monthly"
# models over the analytics tables (Python assets of analytics_job): built by analytics_job only
ANALYTICS = "tag:analytics"
# models over the load forecast (Python assets of forecast_job): built by forecast_job only
FORECAST = "tag:forecast"
# models the load forecast reads (the like-day levels): built by forecast_job before it
FORECAST_INPUT = "tag:forecast_input"
WAREHOUSE_VAR = "gridledger_warehouse"  # read by transforms/profiles.yml
RESTRICTED_VAR = "gridledger_restricted"  # likewise: the restricted file it attaches


@cache
def dbt_project() -> DbtProject:
    """The dbt project, with a manifest re-parsed whenever a project file is newer than it."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    with _parse_lock(project.target_path):  # two processes never write one manifest at once
        if _manifest_is_stale(project.manifest_path):
            DbtCliResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=_dbt_executable(),
            ).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


@contextmanager
def _parse_lock(target_path: Path) -> Iterator[None]:
    """An exclusive lock on `<target>/.parse.lock` for as long as the block runs."""
    target = target_path if target_path.is_absolute() else DBT_PROJECT_DIR / target_path
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".parse.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _dbt_executable() -> str:
    """dbt run by this interpreter, keeping its parse across runtime vars
    (orchestration/dbt_launcher.py)."""
    return dbt_launcher.launcher()


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
    quality (monthly VEE reports: meter quality summary, meter anomalies), analytics (the
    BI marts over the analytics tables, built by analytics_job) and forecast (the deviation
    projection over the load forecast, built by forecast_job).

    Asset keys are [schema, table]: a model's alias (its table name) rather than its file name,
    so a model renamed for its layer prefix (fct_meter_anomalies, alias meter_anomalies) keeps
    its table and its asset key core/meter_anomalies."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        key = super().get_asset_key(dbt_resource_props)
        name, alias = dbt_resource_props.get("name"), dbt_resource_props.get("alias")
        if dbt_resource_props.get("resource_type") == "model" and alias and key.path[-1] == name:
            return AssetKey([*key.path[:-1], alias])
        return key

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str,
                       project: DbtProject | None) -> AssetSpec:
        """Monthly models also depend on the config preflight: nothing is built before it."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") == "model" and "monthly" in props.get("tags", []):
            return spec.merge_attributes(deps=[AssetDep(PREFLIGHT_KEY)])
        return spec

    def get_asset_check_spec(self, asset_spec: AssetSpec, manifest: Mapping[str, Any],
                             unique_id: str, project: DbtProject | None) -> AssetCheckSpec | None:
        """dbt tests as asset checks, described by the test's own `description` (dagster-dbt
        reads only `meta.description`)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        description = manifest["nodes"].get(unique_id, {}).get("description")
        if spec is None or spec.description or not description:
            return spec
        return spec._replace(description=description)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        tags = dbt_resource_props.get("tags", [])
        fqn = dbt_resource_props.get("fqn", [])
        if "analytics" in tags:
            return "analytics"
        if "forecast" in tags or "forecast_input" in tags:
            return "forecast"
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


def dbt_build_args(context: AssetExecutionContext, warehouse: str | None = None,
                   extra_vars: Mapping[str, str] | None = None) -> list[str]:
    """`dbt build` with the run's partition window as vars (when the assets are partitioned)
    and the warehouse the profile connects to (when given). dbt unit tests (fixed inputs,
    nothing to learn from production data) are left to `dbt test --select test_type:unit`
    (tests/unit/test_dbt_unit_tests.py)."""
    args = ["build", "--indirect-selection", "buildable", "--exclude-resource-type", "unit_test"]
    dbt_vars: dict[str, str] = dict(extra_vars or {})
    if context.has_partition_key_range or context.has_partition_key:
        window = context.partition_time_window
        dbt_vars.update(window_vars(window.start, window.end))
    if warehouse is not None:
        dbt_vars[WAREHOUSE_VAR] = warehouse
        dbt_vars[RESTRICTED_VAR] = str(restricted_path(warehouse))
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    return args


def run_dbt(dbt: DbtCliResource, args: list[str],
            context: AssetExecutionContext) -> DbtCliInvocation:
    """Start `dbt <args>` for a run, in a target folder of its own seeded with the last parse
    for the same parse-affecting vars (kept again by `with_table_metadata` once dbt exited)."""
    target = Path("target") / f"{context.op_def.name}-{context.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    dbt_launcher.seed_parse(DBT_PROJECT_DIR / target, args)
    return dbt.cli(args, context=context, target_path=target)


def with_table_metadata(invocation: DbtCliInvocation, warehouse: Path) -> Iterator:
    """The invocation's events once dbt has exited (DuckDB: one writer; the warehouse is read
    after dbt released it), each model's with its row count (tables, not views: a view would run
    its query) and column schema, read in two queries through the relation names of the run's
    own manifest. Events dbt sent before a failure are yielded, then the failure raised.

    dagster-dbt's `fetch_row_counts()` / `fetch_column_metadata()` gave the same metadata with one
    query per model through a thread pool whose wait loop polls without sleeping, taking a core
    from dbt for the whole run; the adapter connection they opened is closed here all the same."""
    events: list = []
    failure: Exception | None = None
    try:
        for event in _then_run_manifest(invocation):
            events.append(event)
    except Exception as error:  # raised after the events dbt sent before it
        failure = error
    try:
        model_ids = {_unique_id(event) for event in events} - {None}
        nodes = {uid: invocation.manifest["nodes"][uid] for uid in model_ids
                 if uid in invocation.manifest["nodes"]}
        tables = _table_metadata(warehouse, nodes, invocation.manifest)
        for event in events:
            extra = tables.get(_unique_id(event) or "")
            yield event.with_metadata({**event.metadata, **extra}) if extra else event
    finally:
        _close_adapter_connection(invocation)
    if failure is not None:
        raise failure


def _unique_id(event: Any) -> str | None:
    """The dbt node a materialization event is for (None for checks and other events)."""
    if not isinstance(event, Output | AssetMaterialization) or "unique_id" not in event.metadata:
        return None
    return event.metadata["unique_id"].text


def _table_metadata(warehouse: Path, nodes: Mapping[str, Mapping[str, Any]],
                    manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """unique_id -> row count and column schema of each built model and seed."""
    if not nodes or not Path(warehouse).exists():
        return {}
    storage_kind = manifest.get("metadata", {}).get("adapter_type")
    relations = {uid: (node["schema"], node.get("alias") or node["name"])
                 for uid, node in nodes.items()}
    counted = [uid for uid, node in nodes.items()
               if node.get("config", {}).get("materialized") != "view"]
    with connect(warehouse, read_only=True) as con:
        columns: dict[tuple[str, str], list[TableColumn]] = {}
        for schema, table, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall():
            columns.setdefault((schema, table), []).append(TableColumn(column, data_type))
        present = {uid for uid in counted if relations[uid] in columns}
        counts = dict(con.execute(" union all ".join(
            f"select '{uid}', count(*) from \"{relations[uid][0]}\".\"{relations[uid][1]}\""
            for uid in sorted(present))).fetchall()) if present else {}
    metadata: dict[str, dict[str, Any]] = {}
    for uid in nodes:
        found = columns.get(relations[uid])
        if found is None:
            continue
        entry = dict(TableMetadataSet(column_schema=TableSchema(columns=found)))
        if uid in counts:
            entry.update(TableMetadataSet(row_count=counts[uid], storage_kind=storage_kind))
        metadata[uid] = entry
    return metadata


def _close_adapter_connection(invocation: DbtCliInvocation) -> None:
    """dagster-dbt's in-process adapter keeps its read-only DuckDB connection open: this
    process's next writable open of the warehouse (the run's next step) would be refused
    ("a different configuration than existing connections"). Close it."""
    if invocation.adapter is None:
        return
    invocation.adapter.cleanup_connections()
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None and getattr(environment, "conn", None) is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _then_run_manifest(invocation: DbtCliInvocation) -> Iterator:
    """dbt's events; once dbt has exited, the invocation reads the manifest this run wrote (its
    vars, e.g. the staging schema, in every relation name) instead of the parse-time one."""
    try:
        yield from invocation.stream()
    finally:
        dbt_launcher.keep_parse(Path(invocation.target_path), invocation.process.args)
        written = Path(invocation.target_path) / "manifest.json"
        if written.exists():
            invocation.manifest = json.loads(written.read_text(encoding="utf-8"))


def _stream(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
    with connect(gridledger.warehouse):  # the restricted file exists (and is migrated)
        pass
    yield from with_table_metadata(
        run_dbt(dbt, dbt_build_args(context, gridledger.warehouse), context),
        gridledger.warehouse_path)


def _stream_staged(context: AssetExecutionContext, dbt: DbtCliResource, gridledger: Gridledger):
    """Stage the published finance tables, build and test into the staging schema, and seal it
    only when dbt succeeded (a failed model or test raises before the seal)."""
    tables = sorted(finance_tables().values())
    with connect(gridledger.warehouse_path) as con:
        finance_publish.stage(con, tables, context.run_id)
    staged = {finance_publish.SCHEMA_VAR: finance_publish.STAGING}
    args = dbt_build_args(context, gridledger.warehouse, staged)
    yield from with_table_metadata(run_dbt(dbt, args, context), gridledger.warehouse_path)
    with connect(gridledger.warehouse_path) as con:
        finance_publish.seal(con, context.run_id)


@cache
def finance_tables() -> dict[AssetKey, str]:
    """Asset key -> table of every dbt model in the finance schema (the tables published
    together), read from the manifest: a new finance model is published too. A finance model
    of analytics_job (tag analytics, e.g. customer_credit) is written by that job directly and
    is not part of the monthly publish."""
    manifest = json.loads(dbt_project().manifest_path.read_text(encoding="utf-8"))
    return {
        _TRANSLATOR.get_asset_key(node): node.get("alias") or node["name"]
        for node in manifest["nodes"].values()
        if node.get("resource_type") == "model"
        and node.get("config", {}).get("schema") == finance_publish.PUBLISHED
        and ANALYTICS.removeprefix("tag:") not in node.get("config", {}).get("tags", [])
    }


@cache
def build_dbt_assets() -> list:
    """The six dbt asset sets."""
    return [
        _dbt_asset_set("dbt_config",
                       exclude=f"{PARTITIONED} {ANALYTICS} {FORECAST} {FORECAST_INPUT}"),
        _dbt_asset_set("dbt_analytics", select=ANALYTICS),
        _dbt_asset_set("dbt_forecast_inputs", select=FORECAST_INPUT),
        _dbt_asset_set("dbt_forecast", select=FORECAST),
        _dbt_asset_set("dbt_daily", daily_partitions, select="tag:daily"),
        _dbt_asset_set("dbt_monthly", monthly_partitions, staged=True, select="tag:monthly"),
    ]


def forecast_input_assets() -> AssetsDefinition:
    """The dbt asset set the forecast's Python assets read (the like-day levels), for a tool
    that materializes the forecast alone (tools.forecast_report, tools.bench_forecast)."""
    return next(a for a in build_dbt_assets() if a.node_def.name == "dbt_forecast_inputs")


def _dbt_asset_set(name: str, partitions_def: PartitionsDefinition | None = None,
                   staged: bool = False, **selection: str) -> AssetsDefinition:
    """One `dbt build` asset set; partitioned sets run a partition range in one dbt build;
    a staged set builds the finance models in the staging schema (see the module doc)."""
    stream = _stream_staged if staged else _stream

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
        yield from stream(context, dbt, gridledger)

    return dbt_asset_set


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource for this project."""
    return DbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=_dbt_executable(),
    )
