"""Schedules: settle and bill each month on working day 5 (domain.md §1 timeline).

The schedule runs in China time (Asia/Shanghai, the partitions' timezone): on the 7th at
08:00 it settles the previous calendar month, so bills and notices are out when the office
opens, not at night. Like every schedule it starts STOPPED; switch it on in the UI
(Automation) or with `dagster schedule start monthly_job_schedule`.

Not here: sensors (sensors.py).
"""

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from orchestration.jobs import monthly_job

SETTLEMENT_DAY, SETTLEMENT_HOUR = 7, 8

monthly_settlement_schedule = build_schedule_from_partitioned_job(
    monthly_job,
    day_of_month=SETTLEMENT_DAY,
    hour_of_day=SETTLEMENT_HOUR,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Settle the previous month around working day 5: the 7th, 08:00 China time "
                "(Asia/Shanghai).",
)

default_schedules = [monthly_settlement_schedule]

__all__ = ["default_schedules", "monthly_settlement_schedule"]
