"""Schedules: settle and bill each month on working day 5 (domain.md §1 timeline).

Not here: sensors (sensors.py). The month is the previous calendar month.
"""

from dagster import build_schedule_from_partitioned_job

from orchestration.jobs import monthly_job

monthly_settlement_schedule = build_schedule_from_partitioned_job(
    monthly_job,
    day_of_month=7,
    hour_of_day=6,
    description="Settle the previous month around working day 5 (the 7th, 06:00).",
)

default_schedules = [monthly_settlement_schedule]

__all__ = ["default_schedules"]
