"""Jobs: the daily read-to-validated flow and the monthly settle-and-bill flow.

Not here: schedules and sensors (see schedules.py, sensors.py), asset logic (see assets/).
"""

from dagster import AssetSelection, define_asset_job

from orchestration.partitions import daily_partitions, monthly_partitions

reference_job = define_asset_job(
    "reference_job",
    selection=AssetSelection.groups("reference"),
    description="Load master data and config seeds, build the staging views and dimensions.",
)

daily_job = define_asset_job(
    "daily_job",
    selection=AssetSelection.groups("ingestion", "validation"),
    partitions_def=daily_partitions,
    description="Ingest landing files and validate/estimate intervals for a range of days.",
)

monthly_job = define_asset_job(
    "monthly_job",
    selection=AssetSelection.groups("quality", "settlement", "finance", "alerts"),
    partitions_def=monthly_partitions,
    description="Consumption, deviation, settlement, bills, alerts and notices for a month.",
)

default_jobs = [reference_job, daily_job, monthly_job]

__all__ = ["default_jobs", "reference_job", "daily_job", "monthly_job"]
