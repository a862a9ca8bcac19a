"""Jobs: reference data, the daily read-to-validated flow, the monthly settle-and-bill flow and
the two workflows (early termination, curtailment with the DR event file), and customer
analytics.

Not here: schedules and sensors (see schedules.py, sensors.py), asset logic (see assets/).
"""

from dagster import AssetSelection, define_asset_job

from assets.workflows.assets import (
    curtailment_workflow,
    dr_event_workflow,
    termination_workflow,
)
from foundation.partitions import daily_partitions, monthly_partitions

reference_job = define_asset_job(
    "reference_job",
    selection=AssetSelection.groups("reference"),
    description="Load master data and config seeds, build the staging views and dimensions.",
)

daily_job = define_asset_job(
    "daily_job",
    # the snapshots last: the marts over validated intervals and the latest reads changed (one
    # asset each, in both jobs)
    selection=AssetSelection.groups("ingestion", "validation", "alerts_daily")
    | AssetSelection.keys("bi/snapshot", "sms/service_snapshot"),
    partitions_def=daily_partitions,
    description="Ingest landing files and validate/estimate intervals for a range of days, "
                "send capacity_exceeded on the day the audit's days are reached, then refresh "
                "the BI and SMS service snapshots.",
)

monthly_job = define_asset_job(
    "monthly_job",
    selection=AssetSelection.groups("quality", "settlement", "finance", "alerts"),
    partitions_def=monthly_partitions,
    description="Consumption, deviation, settlement, bills, alerts and notices for a month, "
                "then refresh the BI and SMS service snapshots.",
)

termination_job = define_asset_job(
    "termination_job", selection=AssetSelection.assets(termination_workflow),
    description="Early termination: requests -> fee -> payment instructions -> results -> notices.",
)
curtailment_job = define_asset_job(
    "curtailment_job", selection=AssetSelection.assets(curtailment_workflow, dr_event_workflow),
    description="Curtailment plans: notices, reminders, escalations, all-clear and results; "
                "then the DR events of inbox/dr_events and their results (same baseline).",
)

analytics_job = define_asset_job(
    "analytics_job",
    # the group holds the Python assets, the measure notices and the BI mart over them (dbt, tag
    # analytics); the BI snapshot last, so BI tools see the mart
    selection=AssetSelection.groups("analytics") | AssetSelection.keys("bi/snapshot"),
    description="Customer analytics: churn inputs and payments, churn risk (Cox), customer value, "
                "credit rating, measures, the measure notices to account managers and the BI "
                "mart marts.customer_analytics, then refresh the BI snapshot.",
)

forecast_job = define_asset_job(
    "forecast_job", selection=AssetSelection.groups("forecast"),
    description="Load forecasting: the rolling-origin backtest of the daily models (and its "
                "check: did the model beat the best baseline), the 35-day forecast with "
                "P10/P50/P90 per customer, the open month's deviation projection per contract "
                "and the notices of its changes of state to account managers.",
)

default_jobs = [reference_job, daily_job, monthly_job, termination_job, curtailment_job,
                analytics_job, forecast_job]

__all__ = [
    "analytics_job", "curtailment_job", "daily_job", "default_jobs", "forecast_job", "monthly_job",
    "reference_job", "termination_job",
]
