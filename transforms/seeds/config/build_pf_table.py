"""Build ``pf_adjustment_rates.csv``: the power-factor adjustment table of 〔83〕水电财字第215号.

The committed CSV is the source of truth at run time; this script only documents how it was
derived and regenerates it (``python transforms/seeds/config/build_pf_table.py``).

Rates are in percent of the adjustment base; negative values are reductions (减收), positive
values are increases (增收). The lookup key is the power factor in integer hundredths (0..100),
after the monthly cos φ has been rounded half-up to 2 dp, so no float comparison is needed.

Rule per standard (h = power factor × 100):

* 0.90 — h ≥ 95: −0.75; 91..94: −0.15 per 0.01 above 0.90; 70..89: +0.5 per 0.01 below 0.90
  (0.70 = +10); 65..69: +10 + 1 per 0.01 below 0.70 (0.65 = +15); < 65: +15 + 2 per 0.01
  below 0.65.
* 0.85 — 86..90: −0.1 per 0.01 above 0.85 (0.90 = −0.5); 0.91 −0.65, 0.92 −0.80,
  0.93 −0.95; h ≥ 94: −1.10 (the 0.15 steps continue; one public implementation caps at −1.0,
  which we do not follow); 65..84: +0.5 per 0.01 (0.65 = +10); 60..64: +10 + 1 per 0.01
  (0.60 = +15); < 60: +15 + 2 per 0.01.
* 0.80 — 81..90: −0.1 per 0.01 (0.90 = −1.0); 0.91 −1.15; h ≥ 92: −1.30; 60..79: +0.5 per
  0.01 (0.60 = +10); 55..59: +10 + 1 per 0.01 (0.55 = +15); < 55: +15 + 2 per 0.01.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

OUTPUT = Path(__file__).with_name("pf_adjustment_rates.csv")
VALID_FROM = "1983-12-02"
SOURCE = "〔83〕水电财字第215号 功率因数调整电费办法"
COLUMNS = ["pf_standard", "pf_hundredths", "rate_pct", "valid_from", "valid_to", "source"]


@dataclass(frozen=True)
class Standard:
    """Break points of one standard, all in hundredths of power factor."""

    code: str  # as in customers.pf_standard
    standard: int  # e.g. 90
    half_step_floor: int  # lowest h still on the +0.5 %/0.01 slope
    one_step_floor: int  # lowest h still on the +1 %/0.01 slope
    slow_reduction_top: int  # highest h on the −0.1 (or −0.15) %/0.01 slope
    slow_reduction_step: Decimal
    fast_reduction: dict[int, Decimal]  # explicit rows above slow_reduction_top
    reduction_cap: Decimal  # rate for every h above the explicit rows


STANDARDS = [
    Standard(
        code="0.90",
        standard=90,
        half_step_floor=70,
        one_step_floor=65,
        slow_reduction_top=94,
        slow_reduction_step=Decimal("0.15"),
        fast_reduction={},
        reduction_cap=Decimal("-0.75"),
    ),
    Standard(
        code="0.85",
        standard=85,
        half_step_floor=65,
        one_step_floor=60,
        slow_reduction_top=90,
        slow_reduction_step=Decimal("0.10"),
        fast_reduction={91: Decimal("-0.65"), 92: Decimal("-0.80"), 93: Decimal("-0.95")},
        reduction_cap=Decimal("-1.10"),
    ),
    Standard(
        code="0.80",
        standard=80,
        half_step_floor=60,
        one_step_floor=55,
        slow_reduction_top=90,
        slow_reduction_step=Decimal("0.10"),
        fast_reduction={91: Decimal("-1.15")},
        reduction_cap=Decimal("-1.30"),
    ),
]


def rate_pct(std: Standard, h: int) -> Decimal:
    """Adjustment rate in percent for power factor ``h``/100 under standard ``std``."""
    if h == std.standard:
        return Decimal("0")
    if h > std.standard:
        if h <= std.slow_reduction_top:
            return -std.slow_reduction_step * (h - std.standard)
        return std.fast_reduction.get(h, std.reduction_cap)
    rate = Decimal("0.5") * (std.standard - max(h, std.half_step_floor))
    if h < std.half_step_floor:
        rate += std.half_step_floor - max(h, std.one_step_floor)
    if h < std.one_step_floor:
        rate += 2 * (std.one_step_floor - h)
    return rate


def build_rows() -> list[list[str]]:
    rows = []
    for std in STANDARDS:
        for h in range(0, 101):
            rate = rate_pct(std, h).quantize(Decimal("0.01"))
            rows.append([std.code, str(h), f"{rate:.2f}", VALID_FROM, "", SOURCE])
    return rows


def main() -> None:
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(build_rows())


if __name__ == "__main__":
    main()
