"""Curtailment rules: the effective-dated rows of `curtailment_rules.csv` and each plan's timeline.

A rule gives, per plan type and warning level, the default measure, the notice deadline, the
reminder lead, the acknowledgement timeout, the all-clear delay and the baseline settings.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from assets.workflows.inbox import timestamp

RULES_PATH = Path(__file__).resolve().parents[1] / "curtailment_rules.csv"


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
    "RULES_PATH", "CurtailmentRule", "Timeline", "load_rules", "plan_timeline", "rule_for",
    "sensor_timeline",
]
