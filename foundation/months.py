"""Month arithmetic, written once: `YYYY-MM` keys, shifting, ranges and month bounds.

A month is either a key `'YYYY-MM'` (periods, contract months, partition keys without the day)
or a `(year, month)` pair. Shifting goes through a month index (`year * 12 + month - 1`), so it
crosses year ends in both directions.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def parse_month(text: str, what: str = "month") -> tuple[int, int]:
    """`'YYYY-MM'` -> (year, month); ValueError (naming `what`) on anything else."""
    if not MONTH_RE.fullmatch(text):
        raise ValueError(f"{what} must be YYYY-MM, got {text!r}")
    return int(text[:4]), int(text[5:7])


def month_key(year: int, month: int) -> str:
    """(2026, 7) -> '2026-07'."""
    return f"{year:04d}-{month:02d}"


def shift(year: int, month: int, n: int) -> tuple[int, int]:
    """(year, month) moved by n months (n may be negative)."""
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def add_months(month: str, n: int) -> str:
    """'2026-11' + 2 -> '2027-01'."""
    return month_key(*shift(int(month[:4]), int(month[5:7]), n))


def month_of(day: date) -> str:
    """The `YYYY-MM` key of a date."""
    return month_key(day.year, day.month)


def month_range(first: str, last: str) -> list[str]:
    """Months first..last inclusive ('YYYY-MM'); empty when first > last."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def months_between(first_day: date, last_day: date) -> list[str]:
    """`YYYY-MM` of every month from first_day's to last_day's, inclusive."""
    return month_range(month_of(first_day), month_of(last_day))


def month_bounds(month: str, what: str = "month") -> tuple[date, date]:
    """[first day, first day of the next month) of a `YYYY-MM` month."""
    year, mon = parse_month(month, what)
    return date(year, mon, 1), date(*shift(year, mon, 1), 1)


def month_end(day: date) -> date:
    """The last day of the day's month."""
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def shift_day(day: date, n: int) -> date:
    """The same day n months away, clipped to the end of a shorter month (31 -> 30/29/28)."""
    year, month = shift(day.year, day.month, n)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_day_of_span(first_month: str, months: int) -> date:
    """The last day of `months` calendar months starting with `first_month` (`YYYY-MM`)."""
    return month_bounds(add_months(first_month, months - 1))[1] - timedelta(days=1)


__all__ = [
    "MONTH_RE", "add_months", "last_day_of_span", "month_bounds", "month_end", "month_key",
    "month_of", "month_range", "months_between", "parse_month", "shift", "shift_day",
]
