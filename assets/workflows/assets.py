"""Workflow assets: early termination, curtailment and DR events, materialized by their jobs.

`termination_workflow` processes `inbox/terminations` and `inbox/payments`;
`curtailment_workflow` does everything due at its configured "now" (see `curtailment/`);
`dr_event_workflow` (in the same job, after it) accepts `inbox/dr_events` and records the results
due at the same "now" (see `dr_events.py`).
Metadata counts notices sent, failed and unreached per notice type; the WARN check
`all_contacts_reached` fails when a contact was not reached. The sensors that launch them are
wiring: `orchestration/workflow_sensors.py`.
"""

from datetime import datetime
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    multi_asset,
)

from assets.alerts.notices import unreached_check, unreached_result
from assets.workflows.curtailment import evaluate_curtailment
from assets.workflows.dr_events import evaluate_dr_events
from assets.workflows.inbox import china_now
from assets.workflows.termination import run_termination_workflow
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications.resource import DeliveryResource

TERMINATION_TABLES = (
    "termination_requests", "payment_instructions", "contract_terminations", "termination_audit",
)
CURTAILMENT_TABLES = ("curtailment_plans", "curtailment_stages", "curtailment_results")
DR_EVENT_TABLES = ("dr_events", "dr_event_customers", "dr_event_results")
# the assets whose WARN check `all_contacts_reached` reports the workflow's notices
TERMINATION_NOTICES = AssetKey(["workflow", "termination_audit"])
CURTAILMENT_NOTICES = AssetKey(["workflow", "curtailment_stages"])


def _row_counts(warehouse: Path, tables: tuple[str, ...]) -> dict[str, int]:
    with connect(warehouse, read_only=True) as con:
        return {t: con.execute(f"select count(*) from workflow.{t}").fetchone()[0]
                for t in tables}


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["workflow", table]), group_name="workflow",
            deps=[AssetKey(["master", "contracts"]), AssetKey(["master", "contract_volumes"]),
                  AssetKey(["restricted", "retailers"]), AssetKey(["restricted", "contacts"])],
            description=f"workflow.{table}: early termination (inbox/terminations, payments).",
        )
        for table in TERMINATION_TABLES
    ],
    check_specs=[unreached_check(TERMINATION_NOTICES)],
    name="termination_workflow",
)
def termination_workflow(
    context: AssetExecutionContext, gridledger: Gridledger, delivery: DeliveryResource
):
    """New termination requests and payment results; outcome notices to both sides."""
    warehouse = gridledger.warehouse_path
    report = run_termination_workflow(warehouse, gridledger.inbox_dir,
                                      service=delivery.service(warehouse))
    for request_id, contacts in report.unreached.items():
        context.log.warning(f"termination {request_id}: unreached {contacts}, retried next run")
    counts = _row_counts(gridledger.warehouse_path, TERMINATION_TABLES)
    summary = {
        "files": report.files, "requests_accepted": report.requests_accepted,
        "payments_applied": report.payments_applied, "rows_rejected": report.rejected,
        "terminated": ", ".join(report.terminated),
        "payment_failed": ", ".join(report.payment_failed),
        **report.tally.metadata(),
    }
    for table in TERMINATION_TABLES:
        yield MaterializeResult(asset_key=AssetKey(["workflow", table]),
                                metadata={"dagster/row_count": counts[table], **summary})
    yield unreached_result(TERMINATION_NOTICES, report.tally)


class CurtailmentClock(Config):
    """The evaluation time; empty means the real China Standard Time clock."""

    now: str = ""  # 'YYYY-MM-DD HH:MM[:SS]', China Standard Time


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["workflow", table]), group_name="workflow",
            deps=[AssetKey(["master", "customers"]), AssetKey(["restricted", "contacts"]),
                  AssetKey(["core", "int_interval_validated"])],
            description=f"workflow.{table}: curtailment plans, notices and results.",
        )
        for table in CURTAILMENT_TABLES
    ],
    check_specs=[unreached_check(CURTAILMENT_NOTICES)],
    name="curtailment_workflow",
)
def curtailment_workflow(
    context: AssetExecutionContext, config: CurtailmentClock, gridledger: Gridledger,
    delivery: DeliveryResource,
):
    """Accept new plans and do every notice and result due at the configured time."""
    now = datetime.fromisoformat(config.now) if config.now else china_now()
    warehouse = gridledger.warehouse_path
    report = evaluate_curtailment(warehouse, gridledger.inbox_dir, now=now,
                                  service=delivery.service(warehouse))
    for key, contacts in report.unreached.items():
        context.log.warning(f"{key}: unreached {contacts}, retried next evaluation")
    counts = _row_counts(gridledger.warehouse_path, CURTAILMENT_TABLES)
    summary = {
        "evaluated_at": now.isoformat(sep=" "), "plans_accepted": ", ".join(report.plans_accepted),
        "notices": len(report.delivered), "messages_sent": sum(report.delivered.values()),
        "skipped": len(report.skipped), "results": len(report.results),
        **report.tally.metadata(),
    }
    for table in CURTAILMENT_TABLES:
        yield MaterializeResult(asset_key=AssetKey(["workflow", table]),
                                metadata={"dagster/row_count": counts[table], **summary})
    yield unreached_result(CURTAILMENT_NOTICES, report.tally)


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["workflow", table]), group_name="workflow",
            # the baseline skips the days of the customer's curtailment plans: after them
            deps=[AssetKey(["master", "customers"]), AssetKey(["master", "dr_enrollments"]),
                  AssetKey(["core", "int_interval_validated"]),
                  AssetKey(["workflow", "curtailment_plans"])],
            description=f"workflow.{table}: demand-response events of their own file "
                        "(inbox/dr_events) and their results (the curtailment baseline).",
        )
        for table in DR_EVENT_TABLES
    ],
    name="dr_event_workflow",
)
def dr_event_workflow(
    context: AssetExecutionContext, config: CurtailmentClock, gridledger: Gridledger
):
    """Accept new DR event files and record every result due at the configured time."""
    now = datetime.fromisoformat(config.now) if config.now else china_now()
    report = evaluate_dr_events(gridledger.warehouse_path, gridledger.inbox_dir, now=now)
    if report.rows_rejected:
        context.log.warning(f"DR event files: {report.rows_rejected} rows rejected"
                            " (workflow.rejections, kind dr_events)")
    counts = _row_counts(gridledger.warehouse_path, DR_EVENT_TABLES)
    summary = {
        "evaluated_at": now.isoformat(sep=" "), "files": report.files,
        "events_accepted": ", ".join(report.events_accepted),
        "rows_rejected": report.rows_rejected, "results": len(report.results),
        "waiting_for_data": len(report.waiting),
    }
    for table in DR_EVENT_TABLES:
        yield MaterializeResult(asset_key=AssetKey(["workflow", table]),
                                metadata={"dagster/row_count": counts[table], **summary})


workflow_assets = [termination_workflow, curtailment_workflow, dr_event_workflow]

__all__ = [
    "CURTAILMENT_TABLES", "DR_EVENT_TABLES", "CurtailmentClock", "TERMINATION_TABLES",
    "curtailment_workflow", "dr_event_workflow", "termination_workflow", "workflow_assets",
]
