"""Partitions: daily for reads and validation, monthly for consumption, settlement and bills."""

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

# The real SGSC sample starts in 2012; generated data is recent. One calendar covers both.
PARTITION_START = "2012-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START)
monthly_partitions = MonthlyPartitionsDefinition(start_date=PARTITION_START)
