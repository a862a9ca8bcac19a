"""Dagster asset `finance/publish`: the monthly job's last finance step.

It depends on every dbt model of the finance schema (read from the manifest, so a new finance
model is published too) and so runs only after the monthly `dbt build` built them in
`finance_staging` and every dbt test (blocking asset checks) passed. It then replaces the
finance tables by the staged ones in one DuckDB transaction (assets/settlement/publish.py).
Bill documents and notices depend on it: they are made from published data only. So does
`bi/snapshot`, the read-only copy BI tools open (assets/settlement/bi_snapshot.py).

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from assets.settlement.bi_snapshot import write_bi_snapshot
from assets.settlement.publish import PUBLISH_KEY, publish
from foundation.partitions import monthly_partitions
from foundation.paths import bi_snapshot_path
from foundation.resources import Gridledger
from foundation.warehouse import connect
from orchestration.dbt import finance_tables


@cache
def build_publish_asset() -> AssetsDefinition:
    """`finance/publish`, depending on every finance model."""
    tables = finance_tables()

    @asset(
        key=PUBLISH_KEY,
        group_name="finance",
        deps=sorted(tables, key=lambda key: key.to_user_string()),
        partitions_def=monthly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=(
            "Publishes the month: replaces every finance table (" + ", ".join(sorted(
                tables.values())) + ") by the copy the run built and tested in finance_staging, "
            "in one transaction, once every gate of the run passed."
        ),
    )
    def publish_finance(context: AssetExecutionContext, gridledger: Gridledger
                        ) -> MaterializeResult:
        """Publish the staged finance tables of this run; metadata: rows per table."""
        with connect(gridledger.warehouse_path) as con:
            rows = publish(con, sorted(tables.values()), context.run_id)
        context.log.info("published " + ", ".join(f"finance.{t} ({n} rows)"
                                                   for t, n in rows.items()))
        return MaterializeResult(metadata={f"rows:{t}": n for t, n in rows.items()})

    return publish_finance


BI_SNAPSHOT_KEY = AssetKey(["bi", "snapshot"])
# What the snapshot follows: the published month (monthly job) and the marts over the validated
# intervals that every daily run changes (daily job; the validated intervals themselves too, so
# their blocking gate, validated_consumption_gate, passes before the snapshot is taken). One
# asset in both jobs: in each it runs after those of its deps the job materializes.
# analytics_job refreshes it too, after the analytics mart (customer_analytics) it builds.
BI_SNAPSHOT_DEPS = [PUBLISH_KEY, AssetKey(["marts", "alerts"]),
                    AssetKey(["core", "int_interval_validated"]),
                    *(AssetKey(["marts", name]) for name in (
                        "meter_vee_quality", "meter_daily_load", "meter_load_profile",
                        "customer_analytics")),
                    AssetKey(["finance", "customer_credit"])]  # analytics_job's finance mart


@asset(
    key=BI_SNAPSHOT_KEY,
    group_name="finance",
    deps=BI_SNAPSHOT_DEPS,
    description=(
        "The BI snapshot (<warehouse stem>.bi.duckdb beside the warehouse, "
        "$GRIDLEDGER_BI_SNAPSHOT): the published finance tables and the masked marts copied to "
        "a new file and renamed over the old one, so BI tools read it while jobs write the "
        "warehouse (assets/settlement/bi_snapshot.py). Refreshed at the end of every monthly, "
        "daily and analytics run (unpartitioned: it is the warehouse's state, not a month's)."
    ),
)
def bi_snapshot(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    """Refresh the BI snapshot after the run's last BI-facing step; metadata: path and rows."""
    return refresh_snapshot(context, gridledger, bi_snapshot_path(gridledger.warehouse_path),
                            write_bi_snapshot, "BI snapshot")


def refresh_snapshot(context: AssetExecutionContext, gridledger: Gridledger, target: Path,
                     write: Callable[..., dict[str, int]], label: str) -> MaterializeResult:
    """Write a snapshot of the warehouse with `write(con, target, run_id)` (rows per table);
    the materialization's metadata: its path, tables and rows."""
    with connect(gridledger.warehouse_path) as con:
        rows = write(con, target, context.run_id)
    context.log.info(f"{label} {target}: {len(rows)} tables")
    return MaterializeResult(metadata={"path": str(target), "tables": len(rows),
                                       **{f"rows:{name}": n for name, n in rows.items()}})
