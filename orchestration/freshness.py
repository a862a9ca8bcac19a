"""Freshness policies: what must be materialized by when, shown in the Dagster UI.

The month is settled by `monthly_job_schedule` on the 7th at 08:00 China time; its bills, bill
documents, alerts and notices are due by the 8th at 12:00 (a day and four hours for retries and
a re-run): each must be materialized inside the window [deadline − lower_bound_delta, deadline]
= [7th 08:00, 8th 12:00], else the UI shows it as late. Scheduling stays with the schedule: a
policy only reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from dagster import AssetKey, AssetsDefinition, AssetSpec, FreshnessPolicy

MONTHLY_CLOSE = FreshnessPolicy.cron(deadline_cron="0 12 8 * *",
                                     lower_bound_delta=timedelta(days=1, hours=4),
                                     timezone="Asia/Shanghai")

DUE_AFTER_MONTHLY_CLOSE = {
    AssetKey(["finance", "bills"]), AssetKey(["finance", "bill_lines"]),
    AssetKey(["finance", "bill_documents"]), AssetKey(["marts", "alerts"]),
    AssetKey(["notify", "monthly_notices"]),
}


def _due(spec: AssetSpec) -> AssetSpec:
    if spec.key not in DUE_AFTER_MONTHLY_CLOSE or spec.freshness_policy is not None:
        return spec
    return spec.replace_attributes(freshness_policy=MONTHLY_CLOSE)


def with_freshness(assets: Iterable[AssetsDefinition]) -> list[AssetsDefinition]:
    """The assets, the monthly-close ones given the MONTHLY_CLOSE policy (others unchanged)."""
    return [asset.map_asset_specs(_due) for asset in assets]
