"""Notice retries: deliver again the notices whose contacts an earlier run did not reach.

`DeliveryService.deliver` queues each unreached contact's rendered message in
`restricted.notice_retry_queue` until the notice expires (`retry_expiry_hours` of the
`delivery` resource, default 24 h after the first failure). This asset sends the queued
messages that have not expired, once each (the ledger knows what was delivered), and drops
expired ones. It is launched by `notice_retry_sensor` (orchestration/notice_retry.py) while
the queue is not empty.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.alerts.notices import unreached_check, unreached_result
from foundation.resources import Gridledger
from notifications.resource import DeliveryResource

NOTICE_RETRIES = AssetKey(["notify", "notice_retries"])


@asset(
    key=NOTICE_RETRIES,
    group_name="notifications",
    check_specs=[unreached_check(NOTICE_RETRIES)],
    description="Re-delivers queued notices to contacts not reached yet, until they expire.",
)
def notice_retries(
    context: AssetExecutionContext, gridledger: Gridledger, delivery: DeliveryResource
) -> MaterializeResult:
    """One pass over `restricted.notice_retry_queue`."""
    result = delivery.service(gridledger.warehouse_path).retry_pending()
    tally = result.tally
    if result.expired:
        context.log.warning(f"{result.expired} queued notices expired without reaching a contact")
    return MaterializeResult(
        metadata={"notices_retried": len(result.reports), "expired": result.expired,
                  "dropped": result.dropped, **tally.metadata()},
        check_results=[unreached_result(NOTICE_RETRIES, tally)],
    )


__all__ = ["NOTICE_RETRIES", "notice_retries"]
