"""`notice_retry_sensor`: while notices wait in `restricted.notice_retry_queue`, launch
`notice_retry_job`.

Every `RETRY_INTERVAL_SECONDS` it opens the warehouse read-only (briefly) and counts the queued
retries that have not expired. If there are any and no retry run is queued or in progress, it
requests one run of `notice_retry_job` (the `notify/notice_retries` asset). The run delivers each
contact at most once (the ledger's idempotency) and the queue empties as contacts are reached or
their notices expire. It starts STOPPED, like every sensor: switch it on where notices go out.

Not here: the retry logic (`DeliveryService.retry_pending`), the asset (assets/alerts/retries.py).
"""

from datetime import UTC, datetime

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from assets.alerts.retries import NOTICE_RETRIES
from foundation.resources import Gridledger
from foundation.warehouse import WarehouseBusy, connect, table_exists
from notifications.ledger import RETRY_QUEUE

RETRY_INTERVAL_SECONDS = 600

notice_retry_job = define_asset_job(
    "notice_retry_job", selection=[NOTICE_RETRIES],
    description="Re-deliver queued notices to contacts not reached yet (until they expire).",
)

_ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
           DagsterRunStatus.STARTED]


def pending_retries(warehouse) -> int:
    """Queued, unexpired retries in the warehouse (0 if there is no queue yet)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with connect(warehouse, read_only=True, wait_seconds=5) as con:
        if not table_exists(con, "restricted", "notice_retry_queue"):
            return 0
        return con.execute(
            f"select count(*) from {RETRY_QUEUE} where expires_at > ?", [now]
        ).fetchone()[0]


@sensor(
    job=notice_retry_job, minimum_interval_seconds=RETRY_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.STOPPED,
    description="Requests notice_retry_job while notices wait in the retry queue.",
)
def notice_retry_sensor(context: SensorEvaluationContext, gridledger: Gridledger):
    if not gridledger.warehouse_path.exists():
        return SkipReason("no warehouse yet")
    try:
        pending = pending_retries(gridledger.warehouse_path)
    except WarehouseBusy:
        return SkipReason("warehouse busy; next tick")
    if not pending:
        return SkipReason("no notices to retry")
    active = context.instance.get_runs(
        RunsFilter(job_name=notice_retry_job.name, statuses=_ACTIVE), limit=1
    )
    if active:
        return SkipReason(f"retry run {active[0].run_id} still going")
    return RunRequest(tags={"gridledger/pending_retries": str(pending)})


__all__ = ["RETRY_INTERVAL_SECONDS", "notice_retry_job", "notice_retry_sensor", "pending_retries"]
