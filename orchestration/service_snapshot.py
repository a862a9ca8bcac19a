"""Dagster assets refreshing the service snapshot the SMS query service reads
(notifications/sms_query/snapshot.py): after the daily validation (yesterday's kWh, the latest
reads) and after the monthly publish (the issued bills). Both write the same file,
`<stem>.service.duckdb` beside the warehouse (`$GRIDLEDGER_SERVICE_SNAPSHOT`), with the one
snapshot writer; the service keeps reading the previous file until the new one is renamed in.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, asset

from assets.settlement.publish import PUBLISH_KEY
from foundation.partitions import daily_partitions, monthly_partitions
from foundation.paths import service_snapshot_path
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications.sms_query.snapshot import write_service_snapshot
from quality.checks import VALIDATED

SERVICE_SNAPSHOT_KEY = AssetKey(["sms", "service_snapshot"])
DAILY_SERVICE_SNAPSHOT_KEY = AssetKey(["sms", "service_snapshot_daily"])
DESCRIPTION = (
    "The service snapshot (<warehouse stem>.service.duckdb, $GRIDLEDGER_SERVICE_SNAPSHOT) the "
    "SMS query service answers from: customer contacts, contract volumes, validated daily kWh, "
    "latest reads and issued bills, copied to a new file renamed over the old one. Holds phone "
    "numbers: keep it with the restricted file."
)


def _refresh(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    target = service_snapshot_path(gridledger.warehouse_path)
    with connect(gridledger.warehouse_path) as con:
        rows = write_service_snapshot(con, target, context.run_id)
    context.log.info(f"service snapshot {target}: {rows}")
    return MaterializeResult(metadata={"path": str(target),
                                       **{f"rows:{name}": n for name, n in rows.items()}})


@asset(key=DAILY_SERVICE_SNAPSHOT_KEY, group_name="validation", deps=[VALIDATED],
       partitions_def=daily_partitions, backfill_policy=BackfillPolicy.single_run(),
       description=DESCRIPTION + " Refreshed by the daily job, after validation.")
def daily_service_snapshot(context: AssetExecutionContext, gridledger: Gridledger
                           ) -> MaterializeResult:
    """Refresh the service snapshot once the days are validated."""
    return _refresh(context, gridledger)


@asset(key=SERVICE_SNAPSHOT_KEY, group_name="finance", deps=[PUBLISH_KEY],
       partitions_def=monthly_partitions, backfill_policy=BackfillPolicy.single_run(),
       description=DESCRIPTION + " Refreshed by the monthly job, after finance/publish.")
def service_snapshot(context: AssetExecutionContext, gridledger: Gridledger
                     ) -> MaterializeResult:
    """Refresh the service snapshot once the month's bills are published."""
    return _refresh(context, gridledger)
