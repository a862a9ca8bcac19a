"""Partitions: daily for reads and validation, monthly for consumption, settlement and bills."""

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

# The real SGSC sample starts in 2012; generated data is recent. One calendar covers both.
PARTITION_START = "2012-01-01"

# Run tags Dagster reads as the partition range of a single-run backfill.
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START)
monthly_partitions = MonthlyPartitionsDefinition(start_date=PARTITION_START)
