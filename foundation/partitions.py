"""Partitions: daily for reads and validation, monthly for consumption, settlement and bills.

The calendar starts at the first month the platform bills (`GRIDLEDGER_FIRST_MONTH`, `YYYY-MM`;
default `DEFAULT_FIRST_MONTH`, the first month of `make demo`'s history), read once when this
module is imported. Data before it has no partition: set the variable to an earlier month
before loading older data (`tools.real_data` does this for the 2012–2014 SGSC sample).
Partitions follow China wall-clock time (Asia/Shanghai), like every timestamp in the warehouse;
keys stay `YYYY-MM-DD`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

from foundation.months import parse_month

FIRST_MONTH_ENV = "GRIDLEDGER_FIRST_MONTH"
DEFAULT_FIRST_MONTH = "2025-10"
TIMEZONE = "Asia/Shanghai"

# Run tags Dagster reads as the partition range of a single-run backfill.
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def first_month(environ: Mapping[str, str] | None = None) -> date:
    """The first day of the configured first month (ValueError naming the variable if malformed)."""
    env = os.environ if environ is None else environ
    text = (env.get(FIRST_MONTH_ENV) or "").strip() or DEFAULT_FIRST_MONTH
    year, month = parse_month(text, FIRST_MONTH_ENV)
    return date(year, month, 1)


def build_partitions(start: date) -> tuple[DailyPartitionsDefinition, MonthlyPartitionsDefinition]:
    """Daily and monthly partitions from `start` (the first of a month), in China time."""
    text = start.isoformat()
    return (DailyPartitionsDefinition(start_date=text, timezone=TIMEZONE),
            MonthlyPartitionsDefinition(start_date=text, timezone=TIMEZONE))


PARTITION_START = first_month()
daily_partitions, monthly_partitions = build_partitions(PARTITION_START)
