"""Demand-response events of their own file: a grid or aggregator dispatch (需求响应邀约) that is
not a curtailment order, from `inbox/dr_events/*.csv`, measured with the curtailment
evaluation's baseline and settled on the bills (docs/domain.md §5, demand-response packages).

Format (UTF-8, optional BOM, header row, extra columns ignored; times China Standard Time):
event_id, window_start, window_end, customer_id, issued_by, notified_at, optional requested_kw.
One row per event x customer; a row with an empty customer_id stands for every customer enrolled
in a DR package (master.dr_enrollments) on the first day of the window's month. requested_kw is
the reduction asked of the customer (a plain decimal, 3 dp, 0 .. the curtailment target maximum);
empty: the enrollment's committed kW. It is the event's target (`met` = reduction ≥ target).

Row rules (each failure is a rejection in `workflow.rejections` with file, line and reason; the
other rows go on): the inbox value rules (`inbox.py`: required values, plain decimals, the time
horizon, the field count); window_end after window_start; the window inside one month
(window_end at most the next month's 00:00: an event belongs to the month its window is in);
at most the configured window length (`limits.py`, 7 days); notified_at before window_end;
customer_id a customer of master data, enrolled in a DR package on the month's first day; one
row per customer and event (an identical repeated row is rejected as a duplicate, rows naming
the same customer with different values are all rejected), no mix of an empty customer_id with
named customers in one event; the rows of one event agree on window_start, window_end,
issued_by and notified_at; a customer's DR events never overlap (the later one is refused for
that customer: a reduction is paid once).

Events are accepted once: `workflow.dr_events` keeps each event with the SHA-256 of its rows as
accepted. A file is read once per content (`workflow.inbox_files`); the same event id again,
from an edited version of its file with the same rows, is skipped (rows_skipped); with other
rows, or from another file, every row of it is rejected (same content: "not counted again";
different content: "send a revision under a new event_id"). The customers are frozen in
`workflow.dr_event_customers` when the event is accepted (master data may be reloaded).

Results: once an event's window has ended, each customer's baseline and actual kW over the
window come from `curtailment.baseline.measure_reduction`, the curtailment evaluation's own code
(like days skip the customer's other plans and DR events), into `workflow.dr_event_results`
(the shape of `curtailment_results`). Until the window's data (or a baseline) are complete the
result waits, up to `results_until` (window end + the `dr_event` row of
`curtailment_rules.csv`, 72 h); then what could not be computed is recorded. A result is written
once: a re-run writes nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.workflows.curtailment.baseline import measure_reduction
from assets.workflows.curtailment.rules import CurtailmentRule, load_rules, rule_for
from assets.workflows.inbox import (
    InboxFile,
    InboxRow,
    china_now,
    decimal,
    optional,
    optional_text,
    pending_files,
    read_inbox_file,
    record_file,
    reject_symlinks,
    text,
    timestamp,
)
from assets.workflows.limits import workflow_limits
from foundation.months import month_bounds, month_of
from foundation.warehouse import connect, table_exists, transaction
from foundation.workflow_schema import ensure_workflow_schema
from notifications.masking import scrub_text

log = logging.getLogger(__name__)

KIND = "dr_events"
RULE_TYPE = "dr_event"  # the plan_type of its row in curtailment_rules.csv
EVENT_COLUMNS = {
    "event_id": text, "window_start": timestamp, "window_end": timestamp,
    "customer_id": optional_text, "issued_by": text, "notified_at": timestamp,
}
EVENT_OPTIONAL = {"requested_kw": optional(decimal(3, lambda limits: limits.max_target_kw))}
EVENT_FIELDS = ("window_start", "window_end", "issued_by", "notified_at")
ALL_ENROLLED = "(every enrolled customer)"


@dataclass
class DrEventReport:
    """What one evaluation did."""

    now: datetime
    files: int = 0
    events_accepted: list[str] = field(default_factory=list)
    rows_rejected: int = 0
    results: list[str] = field(default_factory=list)  # "event:customer" recorded
    waiting: list[str] = field(default_factory=list)  # "event:customer" without data yet


def _read_events(path: Path, now: datetime) -> InboxFile:
    inbox = read_inbox_file(KIND, path, EVENT_COLUMNS, "event_id", EVENT_OPTIONAL, now=now)
    max_window = timedelta(days=workflow_limits().max_window_days)
    kept = []
    for row in inbox.rows:
        v = row.values
        start, end = v["window_start"], v["window_end"]
        if end <= start:
            inbox.reject(row, "window_end must be after window_start", v["event_id"])
        elif end > datetime.combine(month_bounds(month_of(start.date()))[1], datetime.min.time()):
            inbox.reject(row, f"window {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} crosses a"
                              " month boundary: a DR event belongs to one month; split it into"
                              " one event per month", v["event_id"])
        elif end - start > max_window:
            inbox.reject(row, f"window lasts longer than the maximum {max_window.days} days",
                         v["event_id"])
        elif v["notified_at"] >= end:
            inbox.reject(row, "notified_at is not before window_end", v["event_id"])
        else:
            kept.append(row)
    inbox.rows = kept
    return inbox


def content_digest(rows: list[InboxRow]) -> str:
    """SHA-256 of an event's values as given (event fields, then customer and requested kW per
    row, in sorted order): equal for a re-delivery of the same event, whatever its line order."""
    head = rows[0].values
    content = {
        "event": [str(head[f]) for f in EVENT_FIELDS],
        "rows": sorted([r.values["customer_id"] or "", str(r.values["requested_kw"] or "")]
                       for r in rows),
    }
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def _enrolled(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, tuple[str, Decimal]]:
    """customer -> (dr_package_id, committed_kw) of the enrollments in force on `day`."""
    if not table_exists(con, "master", "dr_enrollments"):
        return {}
    rows = con.execute(
        "select customer_id, dr_package_id, committed_kw from master.dr_enrollments"
        " where valid_from <= ? and coalesce(valid_to, date '9999-12-31') >= ?"
        " order by customer_id, valid_from", [day, day]).fetchall()
    return {cid: (package, Decimal(committed)) for cid, package, committed in rows}


def _overlapping(con: duckdb.DuckDBPyConnection, customer_id: str, start: datetime,
                 end: datetime) -> tuple[str, str] | None:
    """(event_id, source file) of an accepted DR event of the customer overlapping the window."""
    return con.execute(
        "select e.event_id, e.source_file from workflow.dr_event_customers c"
        " join workflow.dr_events e using (event_id)"
        " where c.customer_id = ? and e.window_start < ? and ? < e.window_end"
        " order by e.window_start, e.event_id limit 1", [customer_id, end, start]).fetchone()


def _unique_rows(inbox: InboxFile, event_id: str, rows: list[InboxRow]) -> list[InboxRow]:
    """One row per customer (None: every enrolled one): an identical repeat is rejected as a
    duplicate, rows naming a customer with different values are all rejected."""
    by_customer: dict[str | None, list[InboxRow]] = {}
    for row in rows:
        by_customer.setdefault(row.values["customer_id"], []).append(row)
    kept = []
    for customer, same in by_customer.items():
        first, shown = same[0], customer or ALL_ENROLLED
        if all(r.values["requested_kw"] == first.values["requested_kw"] for r in same):
            kept.append(first)
            for row in same[1:]:
                inbox.reject(row, f"event {event_id}: duplicate row for {shown} (first on line"
                                  f" {first.line}): not counted again", event_id)
        else:
            for row in same:
                inbox.reject(row, f"event {event_id} names {shown} on lines"
                                  f" {[r.line for r in same]} with different requested_kw",
                             event_id)
    if None in by_customer and len(by_customer) > 1:
        blank = by_customer[None][0].line
        for row in kept:
            inbox.reject(row, f"event {event_id}: a row for every enrolled customer (line"
                              f" {blank}) cannot be mixed with rows naming customers", event_id)
        return []
    return kept


def _accept_event(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, event_id: str, rows: list[InboxRow],
    digest: str, known: set[str], rules: list[CurtailmentRule], now: datetime,
) -> bool:
    """Insert the event and its customers; False if none of its rows was accepted."""
    head = rows[0].values
    differing = [r.line for r in rows if any(r.values[f] != head[f] for f in EVENT_FIELDS)]
    if differing:
        for row in rows:
            inbox.reject(row, f"event {event_id}: window_start, window_end, issued_by or"
                              f" notified_at differ between lines {rows[0].line} and"
                              f" {differing}", event_id)
        return False
    start, end = head["window_start"], head["window_end"]
    try:
        rule = rule_for(rules, RULE_TYPE, "*", start.date())
    except LookupError as exc:
        for row in rows:
            inbox.reject(row, str(exc), event_id)
        return False
    first_day = month_bounds(month_of(start.date()))[0]
    enrolled = _enrolled(con, first_day)
    not_enrolled = (f"is not enrolled in a DR package on {first_day} (master/dr_enrollments.csv):"
                    " a DR event is settled only under an enrollment")
    selected: dict[str, InboxRow] = {}
    for row in _unique_rows(inbox, event_id, rows):
        customer = row.values["customer_id"]
        if customer is None:
            if not enrolled:
                inbox.reject(row, f"no customer {not_enrolled}", event_id)
            candidates = list(enrolled)
        elif customer not in known:
            inbox.reject(row, f"customer_id {customer} is not a customer (master/customers.csv)",
                         event_id)
            continue
        elif customer not in enrolled:
            inbox.reject(row, f"customer {customer} {not_enrolled}", event_id)
            continue
        else:
            candidates = [customer]
        overlaps = {}
        for cid in candidates:
            if (other := _overlapping(con, cid, start, end)) is not None:
                overlaps[cid] = other
            else:
                selected[cid] = row
        if overlaps:
            inbox.reject(row, "; ".join(
                f"customer {cid} already has DR event {other} ({source}) overlapping this"
                " window: a reduction is paid once" for cid, (other, source) in overlaps.items()),
                event_id)
    if not selected:
        return False
    con.execute(
        "insert into workflow.dr_events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [event_id, start, end, scrub_text(head["issued_by"]), head["notified_at"],
         rule.baseline_days, end + timedelta(hours=rule.results_horizon_hours), digest,
         inbox.name, now])
    con.executemany(
        "insert into workflow.dr_event_customers values (?, ?, ?, ?, ?, ?, ?)",
        [[event_id, cid, row.values["requested_kw"],
          row.values["requested_kw"] if row.values["requested_kw"] is not None
          else enrolled[cid][1], enrolled[cid][0], enrolled[cid][1], row.line]
         for cid, row in sorted(selected.items())])
    return True


def accept_event_files(
    con: duckdb.DuckDBPyConnection, inbox_dir: Path, rules: list[CurtailmentRule], now: datetime,
    report: DrEventReport,
) -> None:
    """Read new DR event files into the workflow tables (one transaction per file)."""
    known = {r[0] for r in con.execute("select distinct customer_id from master.customers")
             .fetchall()}
    with transaction(con):
        reject_symlinks(con, KIND, inbox_dir / KIND, now)
    for path, _ in pending_files(con, KIND, inbox_dir / KIND):
        inbox = _read_events(path, now)
        events: dict[str, list[InboxRow]] = {}
        for row in inbox.rows:
            events.setdefault(row.values["event_id"], []).append(row)
        with transaction(con):
            accepted = skipped = 0
            for event_id, rows in events.items():
                digest = content_digest(rows)
                existing = con.execute(
                    "select source_file, content_sha256 from workflow.dr_events"
                    " where event_id = ?", [event_id]).fetchone()
                if existing and existing == (inbox.name, digest):
                    skipped += len(rows)  # from an earlier version of this file
                elif existing:
                    same = existing[1] == digest
                    for row in rows:
                        inbox.reject(row, f"event {event_id} was already accepted from"
                                          f" {existing[0]}" + (
                                              " (same content): not counted again" if same else
                                              " with different content; send a revision under"
                                              " a new event_id"), event_id)
                elif _accept_event(con, inbox, event_id, rows, digest, known, rules, now):
                    report.events_accepted.append(event_id)
                    rejected = {r.line for r in inbox.rejections}
                    accepted += sum(1 for r in rows if r.line not in rejected)
            record_file(con, inbox, accepted, skipped, now)
        report.files += 1
        report.rows_rejected += len({r.line for r in inbox.rejections})
        for rejection in inbox.rejections:
            log.warning("%s line %d rejected: %s", inbox.name, rejection.line, rejection.reason)


PENDING_SQL = """
select c.event_id, c.customer_id, c.target_kw, e.window_start, e.window_end, e.baseline_days,
       e.results_until
from workflow.dr_event_customers c
join workflow.dr_events e using (event_id)
left join workflow.dr_event_results r using (event_id, customer_id)
where r.event_id is null and e.window_end <= ?
order by e.window_start, c.event_id, c.customer_id
"""


def record_results(con: duckdb.DuckDBPyConnection, now: datetime, report: DrEventReport) -> None:
    """A result for each event customer whose window has ended and whose data are in (or whose
    results_until has passed): the curtailment evaluation's baseline, once."""
    for event_id, cid, target_kw, start, end, baseline_days, results_until in con.execute(
            PENDING_SQL, [now]).fetchall():
        result = measure_reduction(con, None, cid, start, end, baseline_days,
                                   dr_event_id=event_id)
        reduction = result.reduction()
        if reduction is None and now < results_until:
            report.waiting.append(f"{event_id}:{cid}")
            continue
        target = Decimal(target_kw)
        con.execute(
            "insert into workflow.dr_event_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event_id, cid, result.baseline_kw, result.actual_kw, reduction, target,
             None if reduction is None else reduction >= target,
             ";".join(d.isoformat() for d in result.baseline_dates), result.detail, now])
        report.results.append(f"{event_id}:{cid}")


def sensor_windows(rows: list[dict[str, str]], rules: list[CurtailmentRule]
                   ) -> dict[str, tuple[datetime, datetime]]:
    """(window_end, results_until) per event id from raw event rows, for the sensor's clock
    (unparseable rows are ignored here: the run rejects them)."""
    out: dict[str, tuple[datetime, datetime]] = {}
    for row in rows:
        try:
            start = timestamp(row.get("window_start", "").strip())
            end = timestamp(row.get("window_end", "").strip())
            rule = rule_for(rules, RULE_TYPE, "*", start.date())
        except (ValueError, LookupError):
            continue
        out.setdefault(row.get("event_id", "").strip(),
                       (end, end + timedelta(hours=rule.results_horizon_hours)))
    return out


def evaluate_dr_events(
    warehouse: Path | str, inbox_dir: Path | str, now: datetime | None = None,
    rules: list[CurtailmentRule] | None = None,
) -> DrEventReport:
    """Accept new DR event files and record every result due at `now` (default: China time)."""
    now = now or china_now()
    rules = rules if rules is not None else load_rules()
    report = DrEventReport(now)
    with connect(Path(warehouse)) as con:
        if not table_exists(con, "master", "customers"):
            raise RuntimeError("master data is not loaded (master.customers is missing)")
        ensure_workflow_schema(con)
        accept_event_files(con, Path(inbox_dir), rules, now, report)
        with transaction(con):
            record_results(con, now, report)
    return report


__all__ = [
    "EVENT_COLUMNS", "EVENT_OPTIONAL", "KIND", "DrEventReport", "accept_event_files",
    "content_digest", "evaluate_dr_events", "record_results", "sensor_windows",
]
