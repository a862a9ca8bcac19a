"""追退补 on paper: adjustment notices of a closed month, and the adjustments a next bill carries.

A re-settlement never edits an issued bill (`finance.adjustments`, models/finance). The corrected
month gets one notice per customer and settlement run (`<period>/adjustments/<customer>_<run>.html`)
listing every adjusted line, its reason and the original bill number; the customer's next bill
document rendered afterwards carries the adjustments no earlier bill carried (the record of what
each bill carried is its month's `issued.json`, assets/bills/issued.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from assets.bills.customer_texts import line_text, texts_on
from assets.bills.data import AdjustmentLine
from assets.bills.formatting import UNITS, line_unit_price, number, signed_yuan
from foundation.warehouse import table_exists
from quality.bill_documents import bill_number, run_tag

ADJUSTMENT_COLUMNS = """
select adjustment_id, customer_id, period, original_bill_ref, line_no, line_code,
       coalesce(segment_no, 1) as segment_no, unit, unit_price, quantity_delta,
       amount_delta_yuan, reason, run_id
from finance.adjustments
"""
# the corrected month's adjustments (its notices)
OF_MONTH_SQL = (ADJUSTMENT_COLUMNS
                + "where period = ? order by customer_id, run_id, line_no, segment_no")
# adjustments of months before this one (a next bill carries those no earlier bill carried)
BEFORE_MONTH_SQL = (ADJUSTMENT_COLUMNS
                    + "where period < ? order by customer_id, period, run_id, line_no, segment_no")

# finance.adjustments.reason (internal wording) → customer_texts.csv `reason` code
REASON_CODES = (
    ("manual_edit", "manual_edit"),
    ("late_or_corrected_reads", "corrected_reads"),
    ("validated consumption changed", "corrected_reads"),
    ("recomputed charges changed", "repriced"),
    ("no bill issued", "no_bill"),
)


@dataclass(frozen=True)
class AdjustmentNotice:
    """One customer's 追退补通知 of one settlement run of a closed month."""

    customer_id: str
    period: str
    run_id: str
    lines: list[AdjustmentLine]

    @property
    def notice_no(self) -> str:
        return f"ZTB-{bill_number(self.customer_id, self.period)}-{run_tag(self.run_id)[:8]}"

    @property
    def file_name(self) -> str:
        return f"{self.customer_id}_{run_tag(self.run_id)}.html"

    @property
    def original_bill_no(self) -> str:
        return self.lines[0].original_bill_no

    @property
    def total(self) -> Decimal:
        return sum((line.amount_delta_yuan for line in self.lines), Decimal(0))


def reason_code(reason: str) -> str:
    """The customer-text code of an adjustment reason (`other` when none matches)."""
    return next((code for marker, code in REASON_CODES if marker in reason), "other")


def _line(row: tuple[Any, ...]) -> AdjustmentLine:
    (adjustment_id, customer_id, period, bill_ref, line_no, line_code, segment_no, unit,
     unit_price, quantity, amount, reason, run_id) = row
    # original_bill_ref is customer:period:run of the issued bill (NULL: no bill was issued)
    original = bill_number(customer_id, period) if bill_ref else ""
    return AdjustmentLine(adjustment_id, customer_id, period, original, int(line_no), line_code,
                          int(segment_no), unit, unit_price, quantity, amount, reason, run_id)


def _lines(con: duckdb.DuckDBPyConnection, sql: str, period: str) -> list[AdjustmentLine]:
    if not table_exists(con, "finance", "adjustments"):
        return []
    return [_line(row) for row in con.execute(sql, [period]).fetchall()]


def month_notices(con: duckdb.DuckDBPyConnection, period: str) -> list[AdjustmentNotice]:
    """The notices of a `YYYY-MM` month's adjustments: one per customer and settlement run."""
    grouped: dict[tuple[str, str], list[AdjustmentLine]] = {}
    for line in _lines(con, OF_MONTH_SQL, period):
        grouped.setdefault((line.customer_id, line.run_id), []).append(line)
    return [AdjustmentNotice(customer, period, run, lines)
            for (customer, run), lines in grouped.items()]


def pending_adjustments(
    con: duckdb.DuckDBPyConnection, period: str, carried: Iterable[str]
) -> dict[str, list[AdjustmentLine]]:
    """customer → adjustments of months before `period` that no earlier bill carried."""
    done = set(carried)
    pending: dict[str, list[AdjustmentLine]] = {}
    for line in _lines(con, BEFORE_MONTH_SQL, period):
        if line.adjustment_id not in done:
            pending.setdefault(line.customer_id, []).append(line)
    return pending


def adjustment_rows(lines: list[AdjustmentLine], on: date) -> list[dict[str, Any]]:
    """Table rows of adjusted lines in customer wording (the template does no arithmetic)."""
    reasons = texts_on("reason", on)
    rows = []
    for line in lines:
        reason = reasons.get(reason_code(line.reason)) or reasons["other"]
        rows.append({
            "key": f"{line.period}:{line.line_no}:{line.segment_no}",
            "period": line.period,
            "original_bill_no": line.original_bill_no or "—",
            "name": line_text(line.line_code, on).label,
            "quantity": number(line.quantity_delta, 3),
            "unit": UNITS.get(line.unit, line.unit),
            "unit_price": (line_unit_price(line.unit_price, line.unit)
                           if line.unit_price is not None else "—"),
            "amount": signed_yuan(line.amount_delta_yuan),
            "reason": reason.label,
            "negative": line.amount_delta_yuan < 0,
        })
    return rows
