"""Customer-facing wording of bill documents: `customer_texts.csv`, effective-dated rows.

Each row is `kind` (`line`: a bill line code; `note`: a numbered note), `code`, `label` (what the
customer reads instead of the code), `explanation` (how the amount is made, in words) and
`valid_from` / `valid_to` (empty = open). The row in force on the bill's first day applies. A line
code without a row is printed with the `other` row's label, never as the code itself: internal
codes and internal notes (e.g. the `source` of a config seed) are not customer text.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

TEXTS_FILE = Path(__file__).with_name("customer_texts.csv")
FALLBACK_CODE = "other"


@dataclass(frozen=True)
class CustomerText:
    label: str
    explanation: str


@functools.cache
def _rows() -> tuple[dict[str, str], ...]:
    with TEXTS_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def texts_on(kind: str, on: date) -> dict[str, CustomerText]:
    """code → text of every row of `kind` in force on `on` (the latest `valid_from` wins)."""
    chosen: dict[str, tuple[date, CustomerText]] = {}
    for row in _rows():
        start = date.fromisoformat(row["valid_from"])
        end = date.fromisoformat(row["valid_to"]) if row["valid_to"] else None
        if row["kind"] != kind or start > on or (end is not None and end < on):
            continue
        if row["code"] not in chosen or chosen[row["code"]][0] < start:
            chosen[row["code"]] = (start, CustomerText(row["label"], row["explanation"]))
    return {code: text for code, (_, text) in chosen.items()}


def line_text(line_code: str, on: date) -> CustomerText:
    """The customer's label and explanation of a bill line code on a date."""
    lines = texts_on("line", on)
    return lines.get(line_code) or lines[FALLBACK_CODE]


def note_text(code: str, on: date) -> str:
    """A numbered note's text on a date (empty when there is no row)."""
    note = texts_on("note", on).get(code)
    return note.explanation if note else ""
