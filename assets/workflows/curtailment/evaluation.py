"""Evaluating curtailment plans at a time `now`: which stage is due for whom, the deliveries,
the stage bookkeeping and the results (see the package docstring for the stages).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from assets.workflows.curtailment.baseline import load_curves, measure_reduction
from assets.workflows.curtailment.messages import (
    all_clear_context,
    curve_summary,
    escalation_context,
    fmt_time,
    notice_context,
    reminder_context,
)
from assets.workflows.curtailment.plans import PLANS_SQL, Plan, accept_plan_files
from assets.workflows.curtailment.rules import CurtailmentRule, load_rules
from assets.workflows.inbox import Rejection, china_now, record_rejections
from foundation.restricted import customer_name_sql, personal_names
from foundation.warehouse import connect, table_exists, transaction
from foundation.workflow_schema import ensure_workflow_schema
from notifications.masking import scrub_person, scrub_text
from notifications.recipients import (
    Audience,
    Recipient,
    customer_recipients,
    manager_recipients,
    resolve_recipients,
)
from notifications.resource import default_service
from notifications.service import DeliveryService, DeliveryTally, Notice

ALL = "ALL"  # pseudo customer of the plan-level notice
STAGES = ("notice", "reminder", "escalation", "all_clear")
FINAL = ("done", "skipped", "not_needed")


@dataclass
class Delivery:
    """One notice to deliver in this evaluation, and its stage bookkeeping."""

    plan_id: str
    stage: str
    customer_id: str
    notice_type: str
    due_at: datetime
    context: dict[str, Any]
    recipients: list[Recipient]
    late: bool = False
    detail: str | None = None

    @property
    def notice_key(self) -> str:
        return notice_key(self.plan_id, self.stage, self.customer_id)


@dataclass
class CurtailmentReport:
    """What one evaluation did."""

    now: datetime
    plans_accepted: list[str] = field(default_factory=list)
    delivered: dict[str, int] = field(default_factory=dict)  # notice key -> messages sent
    unreached: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # notice keys given up
    results: list[str] = field(default_factory=list)  # "plan:customer" recorded
    tally: DeliveryTally = field(default_factory=DeliveryTally)  # per notice type, for metadata


def notice_key(plan_id: str, stage: str, customer_id: str) -> str:
    """The stable ledger key of one stage's notice to one customer."""
    return f"curtailment:{plan_id}:{stage}:{customer_id}"


class _Evaluation:
    """Decides, with one open connection, what is due for each plan at `now`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, now: datetime,
                 report: CurtailmentReport) -> None:
        self.con, self.now, self.report = con, now, report
        self.deliveries: list[Delivery] = []

    def stages(self, plan_id: str) -> dict[tuple[str, str], tuple]:
        rows = self.con.execute(
            "select stage, customer_id, status, first_sent_at from workflow.curtailment_stages"
            " where plan_id = ?", [plan_id],
        ).fetchall()
        return {(s, c): (status, sent) for s, c, status, sent in rows}

    def record_final(self, plan: Plan, stage: str, customer_id: str, due: datetime,
                     status: str, detail: str) -> None:
        self.con.execute(
            "insert into workflow.curtailment_stages (plan_id, stage, customer_id, notice_key,"
            " due_at, status, completed_at, detail) values (?, ?, ?, ?, ?, ?, ?, ?)"
            " on conflict do update set status = excluded.status,"
            " completed_at = excluded.completed_at, detail = excluded.detail",
            [plan.plan_id, stage, customer_id, notice_key(plan.plan_id, stage, customer_id),
             due, status, self.now, detail],
        )
        if status == "skipped":
            self.report.skipped.append(notice_key(plan.plan_id, stage, customer_id))

    def audience(self, plan: Plan, customers: dict[str, tuple]) -> dict[str, list[Recipient]]:
        """Recipients per customer id (and ALL) for the plan's curtailment notices."""
        found: dict[str, dict[str, Recipient]] = {cid: {} for cid in customers}
        for cid in customers:
            for r in customer_recipients(self.con, "curtailment_notice", cid):
                found[cid][r.contact_id] = r
        targets = self.con.execute(
            "select region, industry, customer_id from workflow.curtailment_targets"
            " where plan_id = ?", [plan.plan_id],
        ).fetchall()
        regions = tuple(sorted({r for r, i, c in targets if r and not i and not c}))
        industries = tuple(sorted({i for r, i, c in targets if i and not r and not c}))
        group_audience = Audience(regions=regions, industries=industries,
                                  plan_ids=(plan.plan_id,))
        plan_level: dict[str, Recipient] = {}
        for r in resolve_recipients(self.con, "curtailment_notice", group_audience):
            if r.customer_id in found:
                found[r.customer_id].setdefault(r.contact_id, r)
            elif r.customer_id is None:
                plan_level[r.contact_id] = r
        out = {cid: list(rs.values()) for cid, rs in found.items()}
        if plan_level:
            out[ALL] = list(plan_level.values())
        return out

    def ensure_curves(self, plan: Plan, customer_id: str) -> str:
        """Compute (once) and store the customer's reference-day load curves; their summary."""
        summary = self.con.execute(
            "select load_summary from workflow.curtailment_customers"
            " where plan_id = ? and customer_id = ?", [plan.plan_id, customer_id],
        ).fetchone()[0]
        if summary is not None:
            return summary
        curves = load_curves(self.con, customer_id, plan.window_start.date())
        points = [[plan.plan_id, customer_id, curve, day, hour, kw]
                  for curve, (day, hourly) in curves.items() for hour, kw in hourly]
        if points:
            self.con.executemany(
                "insert into workflow.curtailment_load_curves values (?, ?, ?, ?, ?, ?)"
                " on conflict do nothing", points,
            )
        summary = curve_summary(curves)
        self.con.execute(
            "update workflow.curtailment_customers set load_summary = ?"
            " where plan_id = ? and customer_id = ?", [summary, plan.plan_id, customer_id],
        )
        return summary

    def evaluate(self, plan: Plan) -> None:
        now = self.now
        done = self.stages(plan.plan_id)
        rows = self.con.execute(
            f"select customer_id, {customer_name_sql('k', versioned=False)}, retailer_id,"
            " target_kw, load_summary from workflow.curtailment_customers k"
            " where plan_id = ? order by customer_id",
            [plan.plan_id],
        ).fetchall()
        customers = {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
        audience: dict[str, list[Recipient]] | None = None

        def recipients(cid: str) -> list[Recipient]:
            nonlocal audience
            if audience is None:
                audience = self.audience(plan, customers)
            return audience.get(cid, [])

        def status(stage: str, cid: str) -> str | None:
            return done.get((stage, cid), (None, None))[0]

        def sent_at(cid: str) -> datetime | None:
            return done.get(("notice", cid), (None, None))[1]

        targets_with_all = list(customers)
        if ("notice", ALL) in done or (now < plan.window_end and recipients(ALL)):
            targets_with_all.append(ALL)
        notice_sent: dict[str, datetime | None] = {}
        for cid in targets_with_all:
            notice_sent[cid] = sent_at(cid)
            if status("notice", cid) in FINAL:
                continue
            if notice_sent[cid] is None and now >= plan.window_end:
                self.record_final(plan, "notice", cid, plan.published_at, "skipped",
                                  "window ended before the notice could be sent")
                continue
            customer = customers.get(cid)
            if customer is not None:
                customer = (*customer[:3], self.ensure_curves(plan, cid))
            late = plan.notice_deadline is not None and (notice_sent[cid] or now) > (
                plan.notice_deadline)
            self.deliveries.append(Delivery(
                plan.plan_id, "notice", cid, "curtailment_notice", plan.published_at,
                notice_context(plan, customer), recipients(cid), late=late,
                detail=f"sent after the deadline {fmt_time(plan.notice_deadline)}"
                if late else None,
            ))
            notice_sent[cid] = notice_sent[cid] or now
        if plan.reminder_at is not None and now >= plan.reminder_at:
            for cid in targets_with_all:
                if status("reminder", cid) in FINAL:
                    continue
                first = notice_sent.get(cid)
                if first is None or first >= plan.reminder_at:
                    self.record_final(plan, "reminder", cid, plan.reminder_at, "skipped",
                                      "the notice went out after the reminder time")
                elif now >= plan.window_start:
                    self.record_final(plan, "reminder", cid, plan.reminder_at, "skipped",
                                      "the window started before the reminder was sent")
                else:
                    self.deliveries.append(Delivery(
                        plan.plan_id, "reminder", cid, "curtailment_reminder", plan.reminder_at,
                        reminder_context(plan, customers.get(cid)), recipients(cid)))
        if plan.ack_timeout_minutes is not None:
            self.escalations(plan, customers, notice_sent, status)
        if now >= plan.all_clear_at:
            for cid in targets_with_all:
                if status("all_clear", cid) in FINAL:
                    continue
                if notice_sent.get(cid) is None or status("notice", cid) == "skipped":
                    self.record_final(plan, "all_clear", cid, plan.all_clear_at, "skipped",
                                      "no notice was sent")
                    continue
                self.deliveries.append(Delivery(
                    plan.plan_id, "all_clear", cid, "curtailment_all_clear", plan.all_clear_at,
                    all_clear_context(plan, customers.get(cid)), recipients(cid)))
        if now >= plan.window_end:
            self.results(plan, customers)

    def escalations(self, plan: Plan, customers: dict[str, tuple],
                    notice_sent: dict[str, datetime | None],
                    status: Callable[[str, str], str | None]) -> None:
        timeout = timedelta(minutes=plan.ack_timeout_minutes or 0)
        ledger = table_exists(self.con, "notify", "delivery_ledger")
        for cid, (name, retailer, _, _) in customers.items():
            first = notice_sent.get(cid)
            if first is None or status("escalation", cid) in FINAL or self.now < first + timeout:
                continue
            due = first + timeout
            if self.now >= plan.window_end:
                self.record_final(plan, "escalation", cid, due, "skipped",
                                  "the window ended before the escalation")
                continue
            rows = self.con.execute(
                "select l.contact_id, bool_or(l.status = 'acknowledged'), any_value(c.contact_name)"
                " from notify.delivery_ledger l left join restricted.contacts c using (contact_id)"
                " where l.notice_key = ? group by l.contact_id order by l.contact_id",
                [notice_key(plan.plan_id, "notice", cid)],
            ).fetchall() if ledger else []
            if any(acked for _, acked, _ in rows):
                self.record_final(plan, "escalation", cid, due, "not_needed",
                                  "the notice was acknowledged")
                continue
            waiting = [contact_name or contact_id for contact_id, _, contact_name in rows]
            government = [r[0] for r in self.con.execute(
                "select contact_id from restricted.contacts where role = 'government'"
                " order by contact_id").fetchall()]
            escalate_to = manager_recipients(self.con, "curtailment_escalation", retailer, cid)
            if government:
                escalate_to += resolve_recipients(
                    self.con, "curtailment_escalation", Audience(contact_ids=tuple(government)))
            self.deliveries.append(Delivery(
                plan.plan_id, "escalation", cid, "curtailment_escalation", due,
                escalation_context(plan, cid, name, waiting), escalate_to,
                detail="unacknowledged: " + (", ".join(r[0] for r in rows)
                                             or "no contact reached")))

    def results(self, plan: Plan, customers: dict[str, tuple]) -> None:
        have = {r[0] for r in self.con.execute(
            "select customer_id from workflow.curtailment_results where plan_id = ?",
            [plan.plan_id]).fetchall()}
        for cid, (_, _, target_kw, _) in customers.items():
            if cid in have:
                continue
            result = measure_reduction(self.con, plan.plan_id, cid, plan.window_start,
                                       plan.window_end, plan.baseline_days)
            reduction = result.reduction()
            if reduction is None and self.now < plan.results_until:
                continue  # wait for the window's data (or a baseline) to arrive
            target = Decimal(target_kw)
            self.con.execute(
                "insert into workflow.curtailment_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [plan.plan_id, cid, result.baseline_kw, result.actual_kw, reduction, target,
                 None if reduction is None else reduction >= target,
                 ";".join(d.isoformat() for d in result.baseline_dates), result.detail,
                 self.now],
            )
            self.report.results.append(f"{plan.plan_id}:{cid}")


def _record_delivery(con: duckdb.DuckDBPyConnection, d: Delivery, reached: int,
                     unreached: list[str], now: datetime) -> None:
    status = "partial" if unreached else "done"
    detail = "; ".join(x for x in (d.detail, f"unreached {unreached}" if unreached else None)
                       if x)
    con.execute(
        "insert into workflow.curtailment_stages values"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " on conflict do update set status = excluded.status,"
        " first_sent_at = coalesce(curtailment_stages.first_sent_at, excluded.first_sent_at),"
        " completed_at = excluded.completed_at, recipients = excluded.recipients,"
        " reached = excluded.reached,"
        " late = curtailment_stages.late or excluded.late, detail = excluded.detail",
        [d.plan_id, d.stage, d.customer_id, d.notice_key, d.due_at, status, now,
         None if unreached else now, len(d.recipients), reached, d.late, detail or None],
    )


def evaluate_curtailment(
    warehouse: Path | str, inbox_dir: Path | str, now: datetime | None = None,
    service: DeliveryService | None = None, rules: list[CurtailmentRule] | None = None,
    clock: Callable[[], datetime] = china_now,
) -> CurtailmentReport:
    """Accept new plans and do everything due at `now` (default: `clock()`, China time)."""
    warehouse, inbox_dir = Path(warehouse), Path(inbox_dir)
    now = now or clock()
    rules = rules if rules is not None else load_rules()
    report = CurtailmentReport(now)
    with connect(warehouse) as con:
        if not table_exists(con, "master", "customers"):
            raise RuntimeError("master data is not loaded (master.customers is missing)")
        ensure_workflow_schema(con)
        report.plans_accepted = accept_plan_files(con, inbox_dir, rules, now)
        plans = [Plan(*row) for row in con.execute(PLANS_SQL, [now, now]).fetchall()]
        evaluation = _Evaluation(con, now, report)
        with transaction(con):
            for plan in plans:
                evaluation.evaluate(plan)
        deliveries = evaluation.deliveries
    if not deliveries:
        return report
    # the delivery service opens the warehouse itself: no connection is held from here on
    service = service or default_service(warehouse)
    outcomes = []
    results = service.deliver_many(
        Notice(d.notice_key, d.notice_type, d.context, d.recipients) for d in deliveries)
    for d, result in zip(deliveries, results, strict=True):
        report.tally.add(result)
        report.delivered[d.notice_key] = len(result.sent)
        if result.unreached:
            report.unreached[d.notice_key] = result.unreached
        outcomes.append((d, len(result.reached), result.unreached))
    with connect(warehouse) as con:
        for d, reached, unreached in outcomes:
            _record_delivery(con, d, reached, unreached, now)
    return report


def acknowledge(service: DeliveryService, plan_id: str, customer_id: str, contact_id: str,
                source: str = "reply", clock: Callable[[], datetime] = china_now) -> bool:
    """Record a contact's confirmation of a plan notice (stops its escalation).

    `source` (the reply text or channel) is stored scrubbed of personal data (`scrub_text`, with
    every contact's and resident's name on file). An acknowledgement that is not accepted (unknown
    contact, a notice never delivered to the contact) returns False and is recorded in
    `workflow.rejections` (kind `acknowledgements`, file_name the notice key, line 0) with its
    reason; its reply text is kept there masked word by word (`scrub_person`), as the sender is
    unknown.
    """
    key = notice_key(plan_id, "notice", customer_id)
    with connect(service.warehouse) as con:
        names = personal_names(con)
    if service.acknowledge(key, contact_id, scrub_text(source, names) or ""):
        return True
    now = clock()
    with connect(service.warehouse) as con:
        ensure_workflow_schema(con)
        known = table_exists(con, "restricted", "contacts") and con.execute(
            "select count(*) from restricted.contacts where contact_id = ?", [contact_id]
        ).fetchone()[0] > 0
        shown = scrub_text(contact_id)
        reason = (f"acknowledgement from unknown contact {shown}" if not known else
                  f"acknowledgement from contact {shown}: notice {key} was not delivered to it")
        raw = {"plan_id": plan_id, "customer_id": customer_id, "contact_id": contact_id,
               "source": scrub_person(source) or ""}
        checksum = hashlib.sha256(
            json.dumps([key, contact_id, source, now.isoformat()], ensure_ascii=False)
            .encode()).hexdigest()
        with transaction(con):
            record_rejections(con, "acknowledgements", key, checksum,
                              [Rejection(0, reason, contact_id, raw)], now)
    return False


__all__ = [
    "ALL", "CurtailmentReport", "Delivery", "acknowledge", "evaluate_curtailment", "notice_key",
]
