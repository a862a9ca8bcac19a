"""The analytics config seeds (transforms/seeds/config/): the row set in force on a day."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from quality.config_rules import SEEDS_DIR


def rows_in_force(seed: str, day: date, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    """Rows of `seed` with valid_from <= day <= valid_to (empty valid_to = open-ended)."""
    with (seeds_dir / f"{seed}.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    found = [r for r in rows if date.fromisoformat(r["valid_from"]) <= day
             and (not r["valid_to"] or day <= date.fromisoformat(r["valid_to"]))]
    if not found:
        raise ValueError(f"{seed}.csv has no row in force on {day}")
    return found


def _tiled(seed: str, columns: tuple[str, str, str], day: date,
           seeds_dir: Path) -> list[tuple[str, Decimal, Decimal]]:
    """(name, lower inclusive, upper exclusive) rows of `seed` in force on `day`, ordered by the
    lower bound; they must tile [0, 1]."""
    name, lower, upper = columns
    rows = sorted(((r[name], Decimal(r[lower]), Decimal(r[upper]))
                   for r in rows_in_force(seed, day, seeds_dir)), key=lambda row: row[1])
    _check_tiling(seed, [(lo, hi) for _, lo, hi in rows])
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


def _check_tiling(seed: str, spans: list[tuple[Decimal, Decimal]]) -> None:
    edges = [Decimal(0)]
    for lo, hi in spans:
        if lo != edges[-1] or hi <= lo:
            raise ValueError(f"{seed}.csv: the rows in force must tile [0, 1] without gaps "
                             f"or overlaps, found {spans}")
        edges.append(hi)
    if edges[-1] != 1:
        raise ValueError(f"{seed}.csv: the rows in force end at {edges[-1]}, not 1")


def pick(spans: list[tuple[str, Decimal, Decimal]], value: float) -> str:
    """The name whose [min, max) holds `value` (the last span includes its max)."""
    for name, lo, hi in spans:
        if lo <= Decimal(str(value)) < hi:
            return name
    return spans[-1][0]
