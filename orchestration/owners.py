"""Who answers for each asset: Dagster owners of the Python assets, by asset group.

The dbt models and seeds carry theirs in `transforms/dbt_project.yml` (`+meta: {dagster:
{owners: [...]}}` per folder, read by dagster-dbt); the Python assets of the same stages get the
same teams here, so every asset in the UI names an owner.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetsDefinition, AssetSpec

METERING = "team:metering"  # master data, landing files, VEE, consumption
SETTLEMENT = "team:settlement"  # config, deviation, settlement, the month's preflight
BILLING = "team:billing"  # finance tables, their publication, bill documents, BI snapshot
CUSTOMER_SERVICE = "team:customer-service"  # alerts, notices, workflows
ANALYTICS = "team:analytics"  # churn risk, customer value, load forecasts

GROUP_OWNERS: dict[str, list[str]] = {
    "reference": [METERING],
    "ingestion": [METERING],
    "settlement": [SETTLEMENT],
    "finance": [BILLING],
    "alerts": [CUSTOMER_SERVICE],
    "alerts_daily": [CUSTOMER_SERVICE],
    "notifications": [CUSTOMER_SERVICE],
    "workflow": [CUSTOMER_SERVICE],
    "analytics": [ANALYTICS],
    "forecast": [ANALYTICS],
}


def _owned(spec: AssetSpec) -> AssetSpec:
    if spec.owners or spec.group_name not in GROUP_OWNERS:
        return spec
    return spec.replace_attributes(owners=GROUP_OWNERS[spec.group_name])


def with_owners(assets: Iterable[AssetsDefinition]) -> list[AssetsDefinition]:
    """The assets, each spec without owners given its group's (owners set in code are kept)."""
    return [asset.map_asset_specs(_owned) for asset in assets]
