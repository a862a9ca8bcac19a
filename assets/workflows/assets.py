"""Workflow assets: early termination and curtailment, materialized by their jobs.

`termination_workflow` processes `inbox/terminations` and `inbox/payments`;
`curtailment_workflow` does everything due at its configured "now" (see `curtailment/`).
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
from assets.workflows.inbox import china_now
from assets.workflows.termination import run_termination_workflow
from foundation.resources import Gridledger
from foundation.warehouse import connect
from notifications.resource import DeliveryResource

TERMINATION_TABLES = (
    "termination_requests", "payment_instructions", "contract_terminations", "termination_audit",
)
CURTAILMENT_TABLES = ("curtailment_plans", "curtailment_stages", "curtailment_results")
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



workflow_assets = [termination_workflow, curtailment_workflow]

__all__ = [
    "CURTAILMENT_TABLES", "CurtailmentClock", "TERMINATION_TABLES", "curtailment_workflow",
    "termination_workflow", "workflow_assets",
]
