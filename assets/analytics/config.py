"""The analytics config seeds (transforms/seeds/config/): the row set in force on a day."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from quality.config_rules import SEEDS_DIR


class CreditRule(NamedTuple):
    """Points of one credit indicator: `max_points` at `full_at` or better, 0 at `zero_at` or
    worse, linear between."""

    indicator: str
    max_points: Decimal
    full_at: Decimal
    zero_at: Decimal


def _rows(seed: str, seeds_dir: Path) -> list[dict[str, str]]:
    with (seeds_dir / f"{seed}.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def first_in_force(seed: str, seeds_dir: Path = SEEDS_DIR) -> date:
    """The earliest valid_from of `seed`: before it, nothing is in force."""
    return min(date.fromisoformat(r["valid_from"]) for r in _rows(seed, seeds_dir))


def rows_in_force(seed: str, day: date, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    """Rows of `seed` with valid_from <= day <= valid_to (empty valid_to = open-ended)."""
    rows = _rows(seed, seeds_dir)
    found = [r for r in rows if date.fromisoformat(r["valid_from"]) <= day
             and (not r["valid_to"] or day <= date.fromisoformat(r["valid_to"]))]
    if not found:
        raise ValueError(f"{seed}.csv has no row in force on {day}")
    return found


def _tiled(seed: str, columns: tuple[str, str, str], day: date, seeds_dir: Path,
           top: Decimal = Decimal(1)) -> list[tuple[str, Decimal, Decimal]]:
    """(name, lower inclusive, upper exclusive) rows of `seed` in force on `day`, ordered by the
    lower bound; they must tile [0, top]."""
    name, lower, upper = columns
    rows = sorted(((r[name], Decimal(r[lower]), Decimal(r[upper]))
                   for r in rows_in_force(seed, day, seeds_dir)), key=lambda row: row[1])
    _check_tiling(seed, [(lo, hi) for _, lo, hi in rows], top)
    return rows


def bands(day: date, seeds_dir: Path = SEEDS_DIR) -> list[tuple[str, Decimal, Decimal]]:
    """(band, min inclusive, max exclusive) ordered by min; must tile [0, 1]."""
    return _tiled("churn_risk_bands", ("band", "min_probability", "max_probability"), day,
                  seeds_dir)


def grades(day: date, seeds_dir: Path = SEEDS_DIR) -> list[tuple[str, Decimal, Decimal]]:
    """(grade, share-above from inclusive, to exclusive) ordered; must tile [0, 1]."""
    return _tiled("value_grades", ("grade", "share_above_from", "share_above_to"), day,
                  seeds_dir)


def indicators(day: date, seeds_dir: Path = SEEDS_DIR) -> dict[str, bool]:
    """Indicator -> True when more is better (positive)."""
    return {r["indicator"]: r["direction"] == "positive"
            for r in rows_in_force("value_indicators", day, seeds_dir)}


def measures(day: date, seeds_dir: Path = SEEDS_DIR) -> dict[tuple[str, str], tuple[str, str]]:
    """(risk band, grade) -> (measure code, measure)."""
    return {(r["risk_band"], r["value_grade"]): (r["measure_code"], r["measure"])
            for r in rows_in_force("customer_measures", day, seeds_dir)}


def notified_pairs(day: date, seeds_dir: Path = SEEDS_DIR) -> set[tuple[str, str]]:
    """The (risk band, grade) pairs whose measure is sent to the account manager
    (`notify_account_manager` true)."""
    return {(r["risk_band"], r["value_grade"])
            for r in rows_in_force("customer_measures", day, seeds_dir)
            if r["notify_account_manager"].strip().lower() == "true"}


def credit_rules(day: date, seeds_dir: Path = SEEDS_DIR) -> list[CreditRule]:
    """The credit indicators in force; their max_points must add up to 100."""
    rules = [CreditRule(r["indicator"], Decimal(r["max_points"]), Decimal(r["full_points_at"]),
                        Decimal(r["zero_points_at"]))
             for r in rows_in_force("credit_rating_rules", day, seeds_dir)]
    total = sum(r.max_points for r in rules)
    if total != 100:
        raise ValueError(f"credit_rating_rules.csv: the rows in force give {total} points, "
                         "not 100")
    if any(r.full_at == r.zero_at for r in rules):
        raise ValueError("credit_rating_rules.csv: full_points_at equals zero_points_at")
    return rules


def credit_grades(day: date, seeds_dir: Path = SEEDS_DIR) -> list[tuple[str, Decimal, Decimal]]:
    """(grade, min score inclusive, max exclusive) ordered; must tile [0, 100]."""
    return _tiled("credit_grades", ("grade", "min_score", "max_score"), day, seeds_dir,
                  Decimal(100))


def credit_grade_labels(day: date, seeds_dir: Path = SEEDS_DIR) -> dict[str, str]:
    """Grade -> its Chinese name (良好 / 一般 / 较差)."""
    return {r["grade"]: r["grade_zh"] for r in rows_in_force("credit_grades", day, seeds_dir)}


def _check_tiling(seed: str, spans: list[tuple[Decimal, Decimal]],
                  top: Decimal = Decimal(1)) -> None:
    edges = [Decimal(0)]
    for lo, hi in spans:
        if lo != edges[-1] or hi <= lo:
            raise ValueError(f"{seed}.csv: the rows in force must tile [0, {top}] without gaps "
                             f"or overlaps, found {spans}")
        edges.append(hi)
    if edges[-1] != top:
        raise ValueError(f"{seed}.csv: the rows in force end at {edges[-1]}, not {top}")


def pick(spans: list[tuple[str, Decimal, Decimal]], value: float) -> str:
    """The name whose [min, max) holds `value` (the last span includes its max)."""
    for name, lo, hi in spans:
        if lo <= Decimal(str(value)) < hi:
            return name
    return spans[-1][0]
