"""Generation span and the Chinese working-day calendar (weekends, holidays, 调休 workdays).

The holiday seed `transforms/seeds/config/holidays.csv` is the single source of truth; the
built-in table below is only a fallback for checkouts without the dbt project.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from foundation.months import parse_month, shift

WORKDAY, WEEKEND, HOLIDAY = 0, 1, 2
HOLIDAY_SEED = Path(__file__).resolve().parents[2] / "transforms/seeds/config/holidays.csv"

# Fallback (国务院办公厅 2025 and 2026 notices; 2027 statutory days only, provisional).
_H, _W = "holiday", "adjusted_workday"
_RANGES: list[tuple[str, str, str, str]] = [
    ("2025-01-01", "2025-01-01", _H, "元旦"), ("2025-01-26", "2025-01-26", _W, "春节调休上班"),
    ("2025-01-28", "2025-02-04", _H, "春节"), ("2025-02-08", "2025-02-08", _W, "春节调休上班"),
    ("2025-04-04", "2025-04-06", _H, "清明节"), ("2025-04-27", "2025-04-27", _W, "劳动节调休上班"),
    ("2025-05-01", "2025-05-05", _H, "劳动节"), ("2025-05-31", "2025-06-02", _H, "端午节"),
    ("2025-09-28", "2025-09-28", _W, "国庆节调休上班"), ("2025-10-01", "2025-10-08", _H, "国庆节"),
    ("2025-10-11", "2025-10-11", _W, "国庆节调休上班"),
    ("2026-01-01", "2026-01-03", _H, "元旦"), ("2026-01-04", "2026-01-04", _W, "元旦调休上班"),
    ("2026-02-14", "2026-02-14", _W, "春节调休上班"), ("2026-02-15", "2026-02-23", _H, "春节"),
    ("2026-02-28", "2026-02-28", _W, "春节调休上班"), ("2026-04-04", "2026-04-06", _H, "清明节"),
    ("2026-05-01", "2026-05-05", _H, "劳动节"), ("2026-05-09", "2026-05-09", _W, "劳动节调休上班"),
    ("2026-06-19", "2026-06-21", _H, "端午节"), ("2026-09-20", "2026-09-20", _W, "国庆节调休上班"),
    ("2026-09-25", "2026-09-27", _H, "中秋节"), ("2026-10-01", "2026-10-07", _H, "国庆节"),
    ("2026-10-10", "2026-10-10", _W, "国庆节调休上班"),
    ("2027-01-01", "2027-01-01", _H, "元旦"), ("2027-02-05", "2027-02-08", _H, "春节"),
    ("2027-04-05", "2027-04-05", _H, "清明节"), ("2027-05-01", "2027-05-02", _H, "劳动节"),
    ("2027-06-09", "2027-06-09", _H, "端午节"), ("2027-09-15", "2027-09-15", _H, "中秋节"),
    ("2027-10-01", "2027-10-03", _H, "国庆节"),
]


def span_days(start: str, months: int) -> list[date]:
    """Every day of `months` calendar months starting with `start` (YYYY-MM)."""
    year, month = parse_month(start)
    end_year, end_month = shift(year, month, months)
    first, stop = date(year, month, 1), date(end_year, end_month, 1)
    return [first + timedelta(days=i) for i in range((stop - first).days)]


def load_holidays(path: Path = HOLIDAY_SEED) -> tuple[dict[date, str], str]:
    """Day -> `holiday`|`adjusted_workday`, plus where it came from (seed file or built-in)."""
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            rows = {date.fromisoformat(r["day"]): r["day_type"] for r in csv.DictReader(handle)}
        return rows, "transforms/seeds/config/holidays.csv"
    table: dict[date, str] = {}
    for first, last, kind, _name in _RANGES:
        day, stop = date.fromisoformat(first), date.fromisoformat(last)
        while day <= stop:
            table[day] = kind
            day += timedelta(days=1)
    return table, "builtin"


def day_types(days: list[date], holidays: dict[date, str]) -> np.ndarray:
    """WORKDAY / WEEKEND / HOLIDAY per day, honouring 调休 adjusted workdays."""
    out = np.empty(len(days), dtype=np.int8)
    for i, day in enumerate(days):
        kind = holidays.get(day)
        if kind == "holiday":
            out[i] = HOLIDAY
        elif kind == "adjusted_workday" or day.weekday() < 5:
            out[i] = WORKDAY
        else:
            out[i] = WEEKEND
    return out
