"""Orderly power use (有序用电): curtailment plans -> notices -> results, after CN102999814A.

A plan arrives as CSV rows in `inbox/curtailment/` (one row per plan x target). Evaluating the
workflow at a time `now` (China Standard Time; the clock is a parameter so tests and the sensor
decide what "now" is) does whatever is due and not done yet:

1. **Accept new plans.** Each target row selects current customers by region, industry and/or
   customer id (non-empty selectors of one row are ANDed; rows are unioned). A customer named by
   its own row gets that row's target_kw, otherwise the largest target of the rows selecting it.
   A row that selects nobody, or a plan whose rows disagree on the plan fields, is rejected.
   Customers are frozen in `workflow.curtailment_customers` (master data may be reloaded).
2. **Notice** (`curtailment_notice`) as soon as the plan is published, per customer, with the
   plan, level, measure, window and required reduction, plus load curves (hourly kW) for
   yesterday, the same day last month and last year relative to the window date ("无数据" when
   there is no validated history). A planned notice sent after its deadline (D-1 17:00 by
   default) is still sent and marked `late`.
3. **Reminder** (`curtailment_reminder`) at the configured lead (T-2 h for planned plans), unless
   the notice itself went out after that moment.
4. **Escalation** (`curtailment_escalation`) when a notice of a plan that requires acknowledgement
   (emergency: 30 min) is still unacknowledged (`DeliveryService.acknowledge`) that long after it
   was sent, to the customer's account managers and the government contacts subscribed to
   curtailment; a customer without any reachable contact is escalated too.
5. **All-clear** (`curtailment_all_clear`) at the window end (+ configured delay).
6. **Results** after the window: per customer, actual average kW in the window vs a baseline
   (average kW in the same clock window over the previous like days: 5 workdays for a workday,
   weekend/holiday days otherwise, days of other plans excluded, only days whose validated data
   cover the window completely), into `workflow.curtailment_results`. Waits for data until
   `results_until`; then records what could not be computed.

Recipients per customer: its own contacts subscribed to `curtailment`, plus members of the plan's
region/industry groups (region-only and industry-only rows) and of a `plan` contact group named
by the plan id who belong to that customer. Group members tied to no customer (e.g. officials in
a plan group) receive one plan-level notice `curtailment:<plan_id>:<stage>:ALL`.
Notice keys are `curtailment:<plan_id>:<stage>:<customer_id>`, so the delivery ledger makes a
re-evaluation send nothing twice; `workflow.curtailment_stages` records each stage.
Lead times, measures and baseline settings are effective-dated rows of `curtailment_rules.csv`.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb

from assets.workflows import customer_recipients, manager_recipients
from assets.workflows.inbox import (
    InboxFile,
    InboxRow,
    china_now,
    choice,
    decimal,
    optional_text,
    pending_files,
    read_inbox_file,
    record_file,
    text,
    timestamp,
)
from foundation.months import shift_day
from foundation.paths import PROJECT_ROOT
from foundation.warehouse import connect, table_exists, transaction
from foundation.workflow_schema import ensure_workflow_schema
from notifications.channels import ChannelConfig
from notifications.recipients import Audience, Recipient, resolve_recipients
from notifications.service import DeliveryService
from notifications.templates import PLAN_TYPE_NAMES

log = logging.getLogger(__name__)

RULES_PATH = Path(__file__).with_name("curtailment_rules.csv")
HOLIDAYS_PATH = PROJECT_ROOT / "transforms" / "seeds" / "config" / "holidays.csv"
KW = Decimal("0.001")
ALL = "ALL"  # pseudo customer of the plan-level notice
NO_DATA = "无数据"
STAGES = ("notice", "reminder", "escalation", "all_clear")
FINAL = ("done", "skipped", "not_needed")
BASELINE_LOOKBACK_DAYS = 45
KEEP_EVALUATING_DAYS = 7  # after results_until a plan is left alone

PLAN_COLUMNS = {
    "plan_id": text, "plan_type": choice("planned", "emergency"),
    "warning_level": choice("I", "II", "III", "IV"), "window_start": timestamp,
    "window_end": timestamp, "region": optional_text, "industry": optional_text,
    "customer_id": optional_text, "target_kw": decimal(3), "published_at": timestamp,
}
PLAN_OPTIONAL = {"plan_name": optional_text, "measure": optional_text}
PLAN_FIELDS = ("plan_type", "warning_level", "window_start", "window_end", "published_at",
               "plan_name", "measure")


# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurtailmentRule:
    """One effective-dated row of curtailment_rules.csv."""

    plan_type: str
    warning_level: str  # I..IV or * for every level
    measure: str
    notice_days_before: int | None  # notice deadline: window date - days at notice_by_time
    notice_by_time: time | None
    reminder_minutes_before: int | None
    ack_timeout_minutes: int | None
    all_clear_delay_minutes: int
    baseline_days: int
    results_horizon_hours: int
    valid_from: date
    valid_to: date | None


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def load_rules(path: Path | str = RULES_PATH) -> list[CurtailmentRule]:
    """Read the rules file (every row must parse: it is configuration)."""
    rules = []
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                rules.append(CurtailmentRule(
                    plan_type=row["plan_type"], warning_level=row["warning_level"],
                    measure=row["measure"],
                    notice_days_before=_int(row["notice_days_before"]),
                    notice_by_time=(time.fromisoformat(row["notice_by_time"])
                                    if row["notice_by_time"] else None),
                    reminder_minutes_before=_int(row["reminder_minutes_before"]),
                    ack_timeout_minutes=_int(row["ack_timeout_minutes"]),
                    all_clear_delay_minutes=_int(row["all_clear_delay_minutes"]) or 0,
                    baseline_days=int(row["baseline_days"]),
                    results_horizon_hours=int(row["results_horizon_hours"]),
                    valid_from=date.fromisoformat(row["valid_from"]),
                    valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
                ))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path} line {line}: {exc}") from exc
    return rules


def rule_for(rules: list[CurtailmentRule], plan_type: str, level: str, day: date
             ) -> CurtailmentRule:
    """The rule in force on `day`; an exact level beats `*`, a later valid_from an earlier one."""
    matching = [
        r for r in rules
        if r.plan_type == plan_type and r.warning_level in (level, "*")
        and r.valid_from <= day and (r.valid_to is None or day <= r.valid_to)
    ]
    if not matching:
        raise LookupError(f"no curtailment rule for {plan_type}/{level} on {day}")
    return max(matching, key=lambda r: (r.warning_level != "*", r.valid_from))


@dataclass(frozen=True)
class Timeline:
    """When each stage of a plan is due (China Standard Time)."""

    window_start: datetime
    window_end: datetime
    notice_at: datetime
    notice_deadline: datetime | None
    reminder_at: datetime | None
    ack_timeout_minutes: int | None
    all_clear_at: datetime
    results_until: datetime


def plan_timeline(
    rule: CurtailmentRule, window_start: datetime, window_end: datetime, published_at: datetime
) -> Timeline:
    """Stage times of a plan under `rule`; the notice is due when the plan is published."""
    deadline = None
    if rule.notice_days_before is not None and rule.notice_by_time is not None:
        deadline = datetime.combine(
            window_start.date() - timedelta(days=rule.notice_days_before), rule.notice_by_time
        )
    reminder = (window_start - timedelta(minutes=rule.reminder_minutes_before)
                if rule.reminder_minutes_before is not None else None)
    return Timeline(
        window_start=window_start, window_end=window_end, notice_at=published_at,
        notice_deadline=deadline, reminder_at=reminder,
        ack_timeout_minutes=rule.ack_timeout_minutes,
        all_clear_at=window_end + timedelta(minutes=rule.all_clear_delay_minutes),
        results_until=window_end + timedelta(hours=rule.results_horizon_hours),
    )


# -- accepting plans --------------------------------------------------------------------------


CUSTOMERS_SQL = """
select customer_id, customer_name, retailer_id, region, industry
from master.customers where valid_to is null order by customer_id
"""


def _read_plans(path: Path) -> InboxFile:
    inbox = read_inbox_file("curtailment", path, PLAN_COLUMNS, "plan_id", PLAN_OPTIONAL)
    kept = []
    for row in inbox.rows:
        v = row.values
        if not (v["region"] or v["industry"] or v["customer_id"]):
            inbox.reject(row, "no target: region, industry or customer_id is required",
                         v["plan_id"])
        elif v["window_end"] <= v["window_start"]:
            inbox.reject(row, "window_end must be after window_start", v["plan_id"])
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
    start = head["window_start"]
    type_name = PLAN_TYPE_NAMES[head["plan_type"]]
    plan_name = head["plan_name"] or f"{start.month}月{start.day}日{type_name}"
    con.execute(
        "insert into workflow.curtailment_plans values"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [plan_id, head["plan_type"], head["warning_level"], plan_name,
         head["measure"] or rule.measure, head["window_start"], head["window_end"],
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
    for path, _ in pending_files(con, "curtailment", inbox_dir / "curtailment"):
        inbox = _read_plans(path)
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


# -- load curves, baselines and results -------------------------------------------------------


def curve_days(window_day: date) -> dict[str, date]:
    """Yesterday, the same day last month and the same day last year of the window day."""
    return {"yesterday": window_day - timedelta(days=1),
            "last_month": shift_day(window_day, -1),
            "last_year": shift_day(window_day, -12)}


CURVE_LABELS = {"yesterday": "昨日", "last_month": "上月同日", "last_year": "去年同日"}

HOURLY_SQL = """
with per_meter as (
    select interval_start::date as day, hour(interval_start) as hour, meter_id,
           sum(value) * 60 / sum(interval_minutes) as kw
    from core.int_interval_validated
    where customer_id = ? and channel = 'kwh_imp' and value is not null
      and list_contains(?::date[], interval_start::date)
    group by all
)
select day, hour, sum(kw) from per_meter group by all order by day, hour
"""


def _kw(value: Any) -> Decimal:
    return Decimal(value).quantize(KW, rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    """12.500 -> '12.5', 300.000 -> '300'."""
    text_value = f"{value.normalize():f}"
    return text_value


def load_curves(
    con: duckdb.DuckDBPyConnection, customer_id: str, window_day: date
) -> dict[str, tuple[date, list[tuple[int, Decimal]]]]:
    """Hourly average kW of the customer on the three reference days (empty list: no data)."""
    days = curve_days(window_day)
    rows = []
    if table_exists(con, "core", "int_interval_validated"):
        rows = con.execute(HOURLY_SQL, [customer_id, list(days.values())]).fetchall()
    by_day: dict[date, list[tuple[int, Decimal]]] = {}
    for day, hour, kw in rows:
        by_day.setdefault(day, []).append((hour, _kw(kw)))
    return {curve: (day, by_day.get(day, [])) for curve, day in days.items()}


def curve_summary(curves: dict[str, tuple[date, list[tuple[int, Decimal]]]]) -> str:
    """'昨日(10-14)峰值812.5kW(10时)、均值640kW；上月同日(09-15)无数据；...'."""
    parts = []
    for curve, (day, points) in curves.items():
        label = f"{CURVE_LABELS[curve]}({day:%Y-%m-%d})"
        if not points:
            parts.append(f"{label}{NO_DATA}")
            continue
        peak_hour, peak = max(points, key=lambda p: (p[1], -p[0]))
        mean = _kw(sum(kw for _, kw in points) / len(points))
        parts.append(f"{label}峰值{_fmt(peak)}kW({peak_hour}时)、均值{_fmt(mean)}kW")
    return "；".join(parts)


def load_holidays(con: duckdb.DuckDBPyConnection) -> dict[date, str]:
    """Day -> holiday | adjusted_workday, from the config seed table (or its CSV)."""
    if table_exists(con, "config", "holidays"):
        rows = con.execute("select cast(day as date), day_type from config.holidays").fetchall()
        return dict(rows)
    with HOLIDAYS_PATH.open(encoding="utf-8") as handle:
        return {date.fromisoformat(r["day"]): r["day_type"] for r in csv.DictReader(handle)}


def is_workday(day: date, holidays: dict[date, str]) -> bool:
    """Workday: Mon-Fri that is not a holiday, or an adjusted (调休) working weekend day."""
    kind = holidays.get(day)
    if kind == "adjusted_workday":
        return True
    return kind != "holiday" and day.weekday() < 5


def window_average_kw(
    con: duckdb.DuckDBPyConnection, customer_id: str, start: datetime, end: datetime,
    meters: int,
) -> Decimal | None:
    """Average kW of the customer over [start, end), or None if the data do not cover it.

    Covered means validated kWh intervals (any quality but FAILED) summing to the window length
    on each of the customer's `meters` meters (intervals are assumed aligned with the window).
    """
    energy, minutes = con.execute(
        """select sum(value), sum(interval_minutes) from core.int_interval_validated
           where customer_id = ? and channel = 'kwh_imp' and value is not null
             and interval_start >= ? and interval_start < ?""",
        [customer_id, start, end],
    ).fetchone()
    window_minutes = Decimal(int((end - start).total_seconds() // 60))
    if energy is None or meters == 0 or Decimal(minutes) != window_minutes * meters:
        return None
    return Decimal(energy) * 60 / window_minutes


def _meters(con: duckdb.DuckDBPyConnection, customer_id: str, day: date) -> int:
    return con.execute(
        """select count(distinct meter_id) from master.metering_points
           where customer_id = ? and valid_from <= ? and (valid_to is null or valid_to >= ?)""",
        [customer_id, day, day],
    ).fetchone()[0]


@dataclass(frozen=True)
class ReductionResult:
    """Actual vs baseline load of one customer in one plan window."""

    baseline_kw: Decimal | None
    actual_kw: Decimal | None
    baseline_dates: tuple[date, ...]
    detail: str

    def reduction(self) -> Decimal | None:
        if self.baseline_kw is None or self.actual_kw is None:
            return None
        return self.baseline_kw - self.actual_kw


def measure_reduction(
    con: duckdb.DuckDBPyConnection, plan_id: str, customer_id: str, window_start: datetime,
    window_end: datetime, baseline_days: int,
) -> ReductionResult:
    """The customer's actual and baseline kW for the window (see the module docstring)."""
    if not table_exists(con, "core", "int_interval_validated"):
        return ReductionResult(None, None, (), "no validated consumption table")
    day = window_start.date()
    meters = _meters(con, customer_id, day)
    actual = window_average_kw(con, customer_id, window_start, window_end, meters)
    holidays = load_holidays(con)
    workday = is_workday(day, holidays)
    event_days = {r[0] for r in con.execute(
        """select distinct p.window_start::date from workflow.curtailment_customers c
           join workflow.curtailment_plans p using (plan_id)
           where c.customer_id = ? and c.plan_id <> ?""",
        [customer_id, plan_id],
    ).fetchall()}
    used: list[tuple[date, Decimal]] = []
    for back in range(1, BASELINE_LOOKBACK_DAYS + 1):
        if len(used) == baseline_days:
            break
        candidate = day - timedelta(days=back)
        if is_workday(candidate, holidays) != workday or candidate in event_days:
            continue
        shift = timedelta(days=back)
        kw = window_average_kw(con, customer_id, window_start - shift, window_end - shift,
                               _meters(con, customer_id, candidate))
        if kw is not None:
            used.append((candidate, kw))
    baseline = _kw(sum(kw for _, kw in used) / len(used)) if used else None
    notes = []
    if actual is None:
        notes.append("window data incomplete")
    if not used:
        notes.append(f"no {'workday' if workday else 'non-workday'} with complete data in the"
                     f" previous {BASELINE_LOOKBACK_DAYS} days")
    elif len(used) < baseline_days:
        notes.append(f"only {len(used)} of {baseline_days} like days")
    return ReductionResult(baseline, None if actual is None else _kw(actual),
                           tuple(d for d, _ in used), "; ".join(notes) or "ok")


# -- evaluation -------------------------------------------------------------------------------


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


def notice_key(plan_id: str, stage: str, customer_id: str) -> str:
    """The stable ledger key of one stage's notice to one customer."""
    return f"curtailment:{plan_id}:{stage}:{customer_id}"


def _fmt_time(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


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

    def plan_context(self, plan: Plan) -> dict[str, Any]:
        return {"plan_id": plan.plan_id, "plan_name": plan.plan_name,
                "plan_type": plan.plan_type, "level": plan.warning_level,
                "measure": plan.measure, "window_start": _fmt_time(plan.window_start),
                "window_end": _fmt_time(plan.window_end)}

    def customer_context(self, plan: Plan, customer_id: str, customer: tuple | None
                         ) -> dict[str, Any]:
        if customer is None:  # plan-level notice
            return {**self.plan_context(plan), "customer_name": "各有关单位"}
        name, _, target_kw, summary = customer
        return {**self.plan_context(plan), "customer_name": name,
                "reduction_kw": _fmt(Decimal(target_kw)), "load_curves": summary or NO_DATA}

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
            "select customer_id, customer_name, retailer_id, target_kw, load_summary"
            " from workflow.curtailment_customers where plan_id = ? order by customer_id",
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
                self.customer_context(plan, cid, customer), recipients(cid), late=late,
                detail=f"sent after the deadline {_fmt_time(plan.notice_deadline)}"
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
                    name = customers[cid][0] if cid in customers else "各有关单位"
                    self.deliveries.append(Delivery(
                        plan.plan_id, "reminder", cid, "curtailment_reminder", plan.reminder_at,
                        {**self.plan_context(plan), "customer_name": name}, recipients(cid)))
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
                name = customers[cid][0] if cid in customers else "各有关单位"
                self.deliveries.append(Delivery(
                    plan.plan_id, "all_clear", cid, "curtailment_all_clear", plan.all_clear_at,
                    {"customer_name": name, "plan_id": plan.plan_id,
                     "plan_name": plan.plan_name, "ended_at": _fmt_time(plan.window_end)},
                    recipients(cid)))
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
                {"customer_name": name, "customer_id": cid, "plan_id": plan.plan_id,
                 "window_start": _fmt_time(plan.window_start),
                 "minutes": plan.ack_timeout_minutes,
                 "contact_name": "、".join(waiting) if waiting else "（无可联系人）"},
                escalate_to,
                detail=f"unacknowledged: {waiting or 'no contact reached'}"))

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
    service = service or DeliveryService(warehouse, ChannelConfig.from_env(os.environ))
    outcomes = []
    for d in deliveries:
        result = service.deliver(d.notice_key, d.notice_type, d.context, d.recipients)
        report.delivered[d.notice_key] = len(result.sent)
        if result.unreached:
            report.unreached[d.notice_key] = result.unreached
        outcomes.append((d, len(result.reached), result.unreached))
    with connect(warehouse) as con:
        for d, reached, unreached in outcomes:
            _record_delivery(con, d, reached, unreached, now)
    return report


def acknowledge(service: DeliveryService, plan_id: str, customer_id: str, contact_id: str,
                source: str = "reply") -> bool:
    """Record a contact's confirmation of a plan notice (stops its escalation)."""
    return service.acknowledge(notice_key(plan_id, "notice", customer_id), contact_id, source)


def sensor_timeline(rows: list[dict[str, str]], rules: list[CurtailmentRule]
                    ) -> dict[str, Timeline]:
    """Stage times per plan id from raw plan rows (unparseable rows are ignored here)."""
    out: dict[str, Timeline] = {}
    for row in rows:
        try:
            start = timestamp(row.get("window_start", "").strip())
            end = timestamp(row.get("window_end", "").strip())
            published = timestamp(row.get("published_at", "").strip())
            rule = rule_for(rules, row.get("plan_type", "").strip(),
                            row.get("warning_level", "").strip(), start.date())
        except (ValueError, LookupError):
            continue
        out.setdefault(row.get("plan_id", "").strip(), plan_timeline(rule, start, end, published))
    return out


__all__ = [
    "ALL", "CurtailmentReport", "CurtailmentRule", "Delivery", "ReductionResult", "Timeline",
    "acknowledge", "curve_days", "curve_summary", "evaluate_curtailment", "is_workday",
    "load_curves", "load_holidays", "load_rules", "measure_reduction", "notice_key",
    "plan_timeline", "rule_for", "sensor_timeline", "window_average_kw",
]
