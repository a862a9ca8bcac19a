"""Assemble the Dagster Definitions; tests pass resource overrides to point at temp dirs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Definitions, in_process_executor

from assets.ingestion.assets import landing_reads, master_data
from orchestration.dbt import build_dbt_assets, dbt_resource
from orchestration.jobs import default_jobs
from orchestration.resources import Gridledger


def build_defs(resource_overrides: Mapping[str, Any] | None = None) -> Definitions:
    """All assets, checks, jobs, schedules, sensors and resources of Gridledger."""
    resources: dict[str, Any] = {"gridledger": Gridledger.from_env(), "dbt": dbt_resource()}
    resources.update(resource_overrides or {})
    return Definitions(
        assets=[master_data, landing_reads, *build_dbt_assets()],
        jobs=default_jobs,
        resources=resources,
        # DuckDB has one writer per file: steps run one after another in the run's process.
        executor=in_process_executor,
    )
