"""Accepting curtailment plans from `inbox/curtailment/`, and the plan row the evaluation reads.

One CSV row per plan x target. Each target row selects current customers by region, industry
and/or customer id (non-empty selectors of one row are ANDed; rows are unioned); the customers
are frozen in `workflow.curtailment_customers`.

Bounds (`assets/workflows/limits.py`): target_kw is a plain decimal 0 .. the configured maximum
(1,000,000 kW by default), times lie within the inbox horizon, a window lasts at most the
configured number of days (7). Free text (plan_name, measure) is stored scrubbed of personal data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from assets.workflows.curtailment.rules import CurtailmentRule, plan_timeline, rule_for
from assets.workflows.inbox import (
    InboxFile,
    InboxRow,
    choice,
    decimal,
    optional_text,
    pending_files,
    read_inbox_file,
    record_file,
    reject_symlinks,
    text,
    timestamp,
)
from assets.workflows.limits import workflow_limits
from foundation.warehouse import transaction
from notifications.masking import scrub_text
from notifications.templates import render_text

log = logging.getLogger(__name__)

KEEP_EVALUATING_DAYS = 7  # after results_until a plan is left alone

PLAN_COLUMNS = {
    "plan_id": text, "plan_type": choice("planned", "emergency"),
    "warning_level": choice("I", "II", "III", "IV"), "window_start": timestamp,
    "window_end": timestamp, "region": optional_text, "industry": optional_text,
    "customer_id": optional_text,
    "target_kw": decimal(3, lambda limits: limits.max_target_kw), "published_at": timestamp,
}
PLAN_OPTIONAL = {"plan_name": optional_text, "measure": optional_text}
PLAN_FIELDS = ("plan_type", "warning_level", "window_start", "window_end", "published_at",
               "plan_name", "measure")


CUSTOMERS_SQL = """
select customer_id, customer_name, retailer_id, region, industry
from master.customers where valid_to is null order by customer_id
"""


def default_plan_name(start: datetime, plan_type: str) -> str:
    """The name of a plan published without one (month, day and plan type)."""
    return render_text("plan_name", month=start.month, day=start.day, plan_type=plan_type)


def _read_plans(path: Path, now: datetime | None = None) -> InboxFile:
    inbox = read_inbox_file("curtailment", path, PLAN_COLUMNS, "plan_id", PLAN_OPTIONAL, now=now)
    max_window = timedelta(days=workflow_limits().max_window_days)
    kept = []
    for row in inbox.rows:
        v = row.values
        if not (v["region"] or v["industry"] or v["customer_id"]):
            inbox.reject(row, "no target: region, industry or customer_id is required",
                         v["plan_id"])
        elif v["window_end"] <= v["window_start"]:
            inbox.reject(row, "window_end must be after window_start", v["plan_id"])
        elif v["window_end"] - v["window_start"] > max_window:
            inbox.reject(row, f"window lasts longer than the maximum {max_window.days} days",
                         v["plan_id"])
        elif v["published_at"] >= v["window_end"]:
            inbox.reject(row, "published_at is not before window_end", v["plan_id"])
        else:
            kept.append(row)
    inbox.rows = kept
    return inbox


def _select(customers: list[tuple], row: InboxRow) -> list[tuple]:
    v = row.values
    return [c for c in customers
            if (v["customer_id"] is None or c[0] == v["customer_id"])
            and (v["region"] is None or c[3] == v["region"])
            and (v["industry"] is None or c[4] == v["industry"])]


def _accept_plan(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, plan_id: str, rows: list[InboxRow],
    customers: list[tuple], rules: list[CurtailmentRule], now: datetime,
) -> bool:
    """Insert the plan, its targets and its customers; False if every row was rejected."""
    head = rows[0].values
    differing = [r.line for r in rows if any(r.values[f] != head[f] for f in PLAN_FIELDS)]
    if differing:
        for row in rows:
            inbox.reject(row, f"plan {plan_id}: plan fields differ between lines"
                              f" {rows[0].line} and {differing}", plan_id)
        return False
    selected: dict[str, list[tuple[InboxRow, tuple]]] = {}
    targets = []
    for row in rows:
        matches = _select(customers, row)
        if not matches:
            inbox.reject(row, f"target selects no current customer"
                              f" (region={row.values['region']}, industry="
                              f"{row.values['industry']}, customer_id="
                              f"{row.values['customer_id']})", plan_id)
            continue
        targets.append(row)
        for customer in matches:
            selected.setdefault(customer[0], []).append((row, customer))
    if not targets:
        return False
    try:
        rule = rule_for(rules, head["plan_type"], head["warning_level"],
                        head["window_start"].date())
    except LookupError as exc:
        for row in targets:
            inbox.reject(row, str(exc), plan_id)
        return False
    timeline = plan_timeline(rule, head["window_start"], head["window_end"], head["published_at"])
    plan_name = head["plan_name"] or default_plan_name(head["window_start"], head["plan_type"])
    con.execute(
        "insert into workflow.curtailment_plans values"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [plan_id, head["plan_type"], head["warning_level"], scrub_text(plan_name),
         scrub_text(head["measure"] or rule.measure), head["window_start"], head["window_end"],
         head["published_at"], timeline.notice_deadline, timeline.reminder_at,
         timeline.ack_timeout_minutes, timeline.all_clear_at, rule.baseline_days,
         timeline.results_until, rule.valid_from, inbox.name, now],
    )
    con.executemany(
        "insert into workflow.curtailment_targets values (?, ?, ?, ?, ?, ?)",
        [[plan_id, r.line, r.values["region"], r.values["industry"], r.values["customer_id"],
          r.values["target_kw"]] for r in targets],
    )
    for customer_id, hits in sorted(selected.items()):
        own = [row for row, _ in hits if row.values["customer_id"] == customer_id]
        target = (own[-1] if own else max((r for r, _ in hits),
                                          key=lambda r: r.values["target_kw"]))
        _, name, retailer, region, industry = hits[0][1]
        con.execute(
            "insert into workflow.curtailment_customers values (?, ?, ?, ?, ?, ?, ?, ?, null)",
            [plan_id, customer_id, name, retailer, region, industry,
             target.values["target_kw"], ";".join(f"line {r.line}" for r, _ in hits)],
        )
    return True


def accept_plan_files(
    con: duckdb.DuckDBPyConnection, inbox_dir: Path, rules: list[CurtailmentRule], now: datetime
) -> list[str]:
    """Read new plan files into the workflow tables; returns the plan ids accepted."""
    accepted_plans: list[str] = []
    customers = con.execute(CUSTOMERS_SQL).fetchall()
    with transaction(con):
        reject_symlinks(con, "curtailment", inbox_dir / "curtailment", now)
    for path, _ in pending_files(con, "curtailment", inbox_dir / "curtailment"):
        inbox = _read_plans(path, now)
        plans: dict[str, list[InboxRow]] = {}
        for row in inbox.rows:
            plans.setdefault(row.values["plan_id"], []).append(row)
        with transaction(con):
            accepted = skipped = 0
            for plan_id, rows in plans.items():
                existing = con.execute(
                    "select source_file from workflow.curtailment_plans where plan_id = ?",
                    [plan_id],
                ).fetchone()
                if existing and existing[0] == inbox.name:
                    skipped += len(rows)  # from an earlier version of this file
                elif existing:
                    for row in rows:
                        inbox.reject(row, f"plan {plan_id} was already published in"
                                          f" {existing[0]}; publish a revision under a new"
                                          " plan_id", plan_id)
                elif _accept_plan(con, inbox, plan_id, rows, customers, rules, now):
                    accepted_plans.append(plan_id)
                    rejected = {r.line for r in inbox.rejections}
                    accepted += sum(1 for r in rows if r.line not in rejected)
            record_file(con, inbox, accepted, skipped, now)
        for rejection in inbox.rejections:
            log.warning("%s line %d rejected: %s", inbox.name, rejection.line, rejection.reason)
    return accepted_plans


@dataclass(frozen=True)
class Plan:
    """A plan row of workflow.curtailment_plans."""

    plan_id: str
    plan_type: str
    warning_level: str
    plan_name: str
    measure: str
    window_start: datetime
    window_end: datetime
    published_at: datetime
    notice_deadline: datetime | None
    reminder_at: datetime | None
    ack_timeout_minutes: int | None
    all_clear_at: datetime
    baseline_days: int
    results_until: datetime


PLANS_SQL = f"""
select {", ".join(Plan.__dataclass_fields__)} from workflow.curtailment_plans
where published_at <= ? and ? < results_until + interval {KEEP_EVALUATING_DAYS} day
order by published_at, plan_id
"""


__all__ = ["PLANS_SQL", "PLAN_COLUMNS", "Plan", "accept_plan_files"]
