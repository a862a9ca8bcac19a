"""Assemble the Dagster Definitions; tests pass resource overrides to point at temp dirs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Definitions, in_process_executor

from assets.alerts.capacity_days import capacity_day_notices
from assets.alerts.notices import monthly_notices
from assets.alerts.retries import notice_retries
from assets.analytics.assets import analytics_assets
from assets.bills.assets import bill_documents
from assets.forecast.assets import forecast_assets, forecast_checks
from assets.forecast.notices import deviation_risk_notices
from assets.meters.assets import landing_reads, master_data
from assets.settlement.preflight import config_preflight
from assets.workflows.assets import workflow_assets
from foundation.resources import Gridledger
from notifications.resource import DELIVERY_KEY, LiveDelivery
from orchestration.dbt import build_dbt_assets, dbt_resource
from orchestration.freshness import with_freshness
from orchestration.jobs import default_jobs
from orchestration.notice_retry import notice_retry_job, notice_retry_sensor
from orchestration.owners import with_owners
from orchestration.publish import bi_snapshot, build_publish_asset
from orchestration.schedules import default_schedules
from orchestration.sensors import default_sensors
from orchestration.service_snapshot import service_snapshot
from orchestration.workflow_sensors import workflow_sensors
from quality.checks import default_checks


def build_defs(resource_overrides: Mapping[str, Any] | None = None) -> Definitions:
    """All assets, checks, jobs, schedules, sensors and resources of Gridledger."""
    resources: dict[str, Any] = {
        "gridledger": Gridledger.from_env(),
        DELIVERY_KEY: LiveDelivery.from_env(),  # channel URLs read once, here
        "dbt": dbt_resource(),
    }
    resources.update(resource_overrides or {})
    return Definitions(
        assets=with_freshness([
            *with_owners([master_data, landing_reads, config_preflight, build_publish_asset(),
                          bi_snapshot, bill_documents, monthly_notices, capacity_day_notices,
                          notice_retries,
                          service_snapshot, *workflow_assets, *analytics_assets,
                          *forecast_assets, deviation_risk_notices]),
            *build_dbt_assets()]),
        asset_checks=[*default_checks, *forecast_checks],
        jobs=[*default_jobs, notice_retry_job],
        schedules=default_schedules,
        sensors=[*default_sensors, *workflow_sensors, notice_retry_sensor],
        resources=resources,
        # DuckDB has one writer per file: steps run one after another in the run's process.
        executor=in_process_executor,
    )
