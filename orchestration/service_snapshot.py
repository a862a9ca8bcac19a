"""The Dagster asset refreshing the service snapshot the SMS query service reads
(notifications/sms_query/snapshot.py): one unpartitioned asset at the end of the daily job
(after validation: yesterday's kWh, the latest reads) and of the monthly job (after the publish:
the issued bills), as `bi/snapshot`. It writes `<stem>.service.duckdb` beside the warehouse
(`$GRIDLEDGER_SERVICE_SNAPSHOT`) with the one snapshot writer; the service keeps reading the
previous file until the new one is renamed in.

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.settlement.publish import PUBLISH_KEY
from foundation.paths import service_snapshot_path
from foundation.resources import Gridledger
from notifications.sms_query.snapshot import write_service_snapshot
from orchestration.publish import refresh_snapshot
from quality.checks import VALIDATED

SERVICE_SNAPSHOT_KEY = AssetKey(["sms", "service_snapshot"])


@asset(
    key=SERVICE_SNAPSHOT_KEY,
    group_name="finance",
    deps=[VALIDATED, PUBLISH_KEY],
    description=(
        "The service snapshot (<warehouse stem>.service.duckdb, $GRIDLEDGER_SERVICE_SNAPSHOT) "
        "the SMS query service answers from: customer contacts, contract volumes, validated "
        "daily kWh, latest reads and issued bills, copied to a new file renamed over the old "
        "one. Holds phone numbers: keep it with the restricted file. Refreshed at the end of "
        "every daily and every monthly run (unpartitioned: it is the warehouse's state)."
    ),
)
def service_snapshot(context: AssetExecutionContext, gridledger: Gridledger) -> MaterializeResult:
    """Refresh the service snapshot after the run's validation or publish."""
    return refresh_snapshot(context, gridledger, service_snapshot_path(gridledger.warehouse_path),
                            write_service_snapshot, "service snapshot")
