"""Load curves, baselines and results: what a customer used, and what it would have used.

Baseline: average kW in the same clock window over the previous like days (`baseline_days`
workdays for a workday, weekend/holiday days otherwise), skipping days of the customer's other
events (curtailment plans and DR events of the event file) and days whose validated data do not
cover the window completely. One implementation for both kinds of event: the curtailment
evaluation (`evaluation.py`) and the DR event file (`assets/workflows/dr_events.py`) call
`measure_reduction`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb

from foundation.months import shift_day
from foundation.paths import PROJECT_ROOT
from foundation.warehouse import table_exists

HOLIDAYS_PATH = PROJECT_ROOT / "transforms" / "seeds" / "config" / "holidays.csv"
KW = Decimal("0.001")
BASELINE_LOOKBACK_DAYS = 45


def curve_days(window_day: date) -> dict[str, date]:
    """Yesterday, the same day last month and the same day last year of the window day."""
    return {"yesterday": window_day - timedelta(days=1),
            "last_month": shift_day(window_day, -1),
            "last_year": shift_day(window_day, -12)}


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


def quantize_kw(value: Any) -> Decimal:
    """kW rounded half-up to 0.001."""
    return Decimal(value).quantize(KW, rounding=ROUND_HALF_UP)


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
        by_day.setdefault(day, []).append((hour, quantize_kw(kw)))
    return {curve: (day, by_day.get(day, [])) for curve, day in days.items()}


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


def event_days(
    con: duckdb.DuckDBPyConnection, customer_id: str, plan_id: str | None = None,
    dr_event_id: str | None = None,
) -> set[date]:
    """Days of the customer's events other than the one measured (its curtailment plans and its
    DR events of the event file): never like days of a baseline."""
    days = {r[0] for r in con.execute(
        """select distinct p.window_start::date from workflow.curtailment_customers c
           join workflow.curtailment_plans p using (plan_id)
           where c.customer_id = ? and c.plan_id is distinct from ?""",
        [customer_id, plan_id],
    ).fetchall()}
    if table_exists(con, "workflow", "dr_event_customers"):
        days |= {r[0] for r in con.execute(
            """select distinct e.window_start::date from workflow.dr_event_customers c
               join workflow.dr_events e using (event_id)
               where c.customer_id = ? and c.event_id is distinct from ?""",
            [customer_id, dr_event_id],
        ).fetchall()}
    return days


def measure_reduction(
    con: duckdb.DuckDBPyConnection, plan_id: str | None, customer_id: str,
    window_start: datetime, window_end: datetime, baseline_days: int,
    dr_event_id: str | None = None,
) -> ReductionResult:
    """The customer's actual and baseline kW for the window (see the module docstring) of the
    curtailment plan `plan_id` or the DR event `dr_event_id` (the other one None)."""
    if not table_exists(con, "core", "int_interval_validated"):
        return ReductionResult(None, None, (), "no validated consumption table")
    day = window_start.date()
    meters = _meters(con, customer_id, day)
    actual = window_average_kw(con, customer_id, window_start, window_end, meters)
    holidays = load_holidays(con)
    workday = is_workday(day, holidays)
    skipped = event_days(con, customer_id, plan_id, dr_event_id)
    used: list[tuple[date, Decimal]] = []
    for back in range(1, BASELINE_LOOKBACK_DAYS + 1):
        if len(used) == baseline_days:
            break
        candidate = day - timedelta(days=back)
        if is_workday(candidate, holidays) != workday or candidate in skipped:
            continue
        shift = timedelta(days=back)
        kw = window_average_kw(con, customer_id, window_start - shift, window_end - shift,
                               _meters(con, customer_id, candidate))
        if kw is not None:
            used.append((candidate, kw))
    baseline = quantize_kw(sum(kw for _, kw in used) / len(used)) if used else None
    notes = []
    if actual is None:
        notes.append("window data incomplete")
    if not used:
        notes.append(f"no {'workday' if workday else 'non-workday'} with complete data in the"
                     f" previous {BASELINE_LOOKBACK_DAYS} days")
    elif len(used) < baseline_days:
        notes.append(f"only {len(used)} of {baseline_days} like days")
    return ReductionResult(baseline, None if actual is None else quantize_kw(actual),
                           tuple(d for d, _ in used), "; ".join(notes) or "ok")


__all__ = [
    "ReductionResult", "curve_days", "event_days", "is_workday", "load_curves", "load_holidays",
    "measure_reduction", "quantize_kw", "window_average_kw",
]
