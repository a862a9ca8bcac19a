"""Dagster asset `settlement/config_preflight`: the monthly run's first step.

It reads the loaded config seeds and master data and fails, naming every missing config row
(seed file, key, period), before any monthly model is built: every monthly dbt model depends
on it (orchestration/dbt.py), so a month without its prices writes nothing at all.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    asset,
)

from foundation.months import months_between
from foundation.partitions import monthly_partitions
from foundation.resources import Gridledger
from foundation.warehouse import connect
from quality.config_coverage import missing_config

PREFLIGHT_KEY = AssetKey(["settlement", "config_preflight"])


@asset(
    key=PREFLIGHT_KEY,
    group_name="settlement",
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "Before the month is settled: every tariff, package, market index, TOU, power-factor, "
        "deviation-clause and parameter row it needs is in the config seeds; fails naming the "
        "seed file, key and period of each missing row. Writes nothing."
    ),
)
def config_preflight(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    """Check the config coverage of the run's months; raise `Failure` listing what is missing."""
    window = context.partition_time_window
    first, last = window.start.date(), window.end.date() - timedelta(days=1)
    with connect(gridledger.warehouse_path, read_only=True) as con:
        missing = missing_config(con, first, last)
    periods = months_between(first, last)
    if missing:
        lines = "\n".join(f"- {m}" for m in missing)
        raise Failure(
            description=(f"config coverage of {', '.join(periods)}: {len(missing)} config rows "
                         f"missing, nothing was written:\n{lines}"),
            metadata={"missing": [str(m) for m in missing]},
        )
    return MaterializeResult(metadata={"periods": periods, "missing": 0})
