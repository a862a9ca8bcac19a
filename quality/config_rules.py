"""Config seeds checked row by row before any money: allowed ranges and allowed values.

The rules live beside the seeds' documentation (`transforms/seeds/config/_*__seeds.yml`):
a column's `config: {meta: {allowed_range: [min, max]}}` bounds its numbers (inclusive; a
negative lower bound only where a credit is meant), and its dbt `accepted_values` test lists its
codes. The
reference job runs this before the seeds are loaded, so a bad row stops the run with the file,
line, column and value, and the previous configuration stays in force.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from foundation.paths import TRANSFORMS_DIR

SEEDS_DIR = TRANSFORMS_DIR / "seeds" / "config"


class ConfigError(ValueError):
    """A config seed row breaks its documented rule; the message names file, line and column."""


@dataclass(frozen=True)
class ColumnRule:
    """What one seed column allows."""

    allowed_range: tuple[Decimal, Decimal] | None = None
    accepted_values: frozenset[str] | None = None


def column_rules(seeds_dir: Path = SEEDS_DIR) -> dict[str, dict[str, ColumnRule]]:
    """Seed → column → rule, read from every `_*.yml` in the seeds folder."""
    rules: dict[str, dict[str, ColumnRule]] = {}
    for path in sorted(seeds_dir.glob("_*.yml")):
        for seed in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("seeds", []):
            for column in seed.get("columns", []):
                rule = _rule_of(column)
                if rule is not None:
                    rules.setdefault(seed["name"], {})[column["name"]] = rule
    return rules


def _rule_of(column: dict) -> ColumnRule | None:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    bounds = meta.get("allowed_range")
    values = None
    for test in column.get("data_tests", []) or []:
        if isinstance(test, dict) and "accepted_values" in test:
            spec = test["accepted_values"]
            listed = (spec.get("arguments") or spec).get("values", [])
            values = frozenset(str(v) for v in listed)
    if bounds is None and values is None:
        return None
    rng = (Decimal(str(bounds[0])), Decimal(str(bounds[1]))) if bounds is not None else None
    return ColumnRule(rng, values)


def validate_config(seeds_dir: Path = SEEDS_DIR) -> int:
    """Check every row of every config seed; return the rows checked, raise on the first bad."""
    checked = 0
    for seed, columns in sorted(column_rules(seeds_dir).items()):
        path = seeds_dir / f"{seed}.csv"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                for name, rule in columns.items():
                    _check(path, reader.line_num, name, (row.get(name) or "").strip(), rule)
                checked += 1
    return checked


def _check(path: Path, line: int, column: str, value: str, rule: ColumnRule) -> None:
    if value == "":
        return  # required-ness is the seed's not_null test
    where = f"{path.name} line {line}: column {column} = {value!r}"
    if rule.accepted_values is not None and value not in rule.accepted_values:
        raise ConfigError(f"{where} is not one of {sorted(rule.accepted_values)}")
    if rule.allowed_range is not None:
        low, high = rule.allowed_range
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ConfigError(f"{where} is not a number") from None
        if not number.is_finite() or not low <= number <= high:
            raise ConfigError(f"{where} is outside the allowed range [{low}, {high}]")


def codes(seed: str, column: str, seeds_dir: Path = SEEDS_DIR) -> set[str]:
    """The distinct values a seed column holds (for master-data enumerations)."""
    with (seeds_dir / f"{seed}.csv").open(encoding="utf-8-sig", newline="") as handle:
        return {row[column].strip() for row in csv.DictReader(handle) if row.get(column)}
