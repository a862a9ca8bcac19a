"""The credit rating's payment indicators, vectorised for 10,000 customers (issue 11's bench),
give exactly what the per-bill loop they replaced gave: on the generator's bills (late,
unpaid, paid after the month end, customers joining and leaving) for months before, inside
and after the history, and with a bill over-paid and one in fen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from assets.analytics.credit import ZERO, payment_indicators, window
from assets.analytics.inputs import load_history, load_payments
from tools.sample_data.history import simulate_history, write_history


def loop_indicators(payments: pd.DataFrame, month: str) -> pd.DataFrame:
    """The per-bill loop (credit.py before the vectorisation), the reference."""
    first, end = window(month)
    bills = payments[payments["due_on"] <= end]
    rows: dict[str, dict[str, object]] = {}
    for b in bills.itertuples(index=False):
        paid_on: date | None = b.paid_on if isinstance(b.paid_on, date) else None
        settled = paid_on is not None and paid_on <= end
        paid = b.amount_paid_yuan if settled else ZERO
        row = rows.setdefault(b.customer_id, {"bills_12m": 0, "on_time_12m": 0,
                                              "days_late_12m": 0, "amount_due_12m_yuan": ZERO,
                                              "arrears_yuan": ZERO})
        row["arrears_yuan"] += max(b.amount_due_yuan - paid, ZERO)
        if b.due_on < first:
            continue
        row["bills_12m"] += 1
        row["amount_due_12m_yuan"] += b.amount_due_yuan
        row["on_time_12m"] += int(settled and paid_on <= b.due_on and paid >= b.amount_due_yuan)
        row["days_late_12m"] += max(((paid_on if settled else end) - b.due_on).days, 0)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("customer_id").reset_index()


def _records(frame: pd.DataFrame) -> dict[str, tuple]:
    if not len(frame):
        return {}
    return {r[0]: tuple(r[1:]) for r in frame[[
        "customer_id", "bills_12m", "on_time_12m", "days_late_12m", "amount_due_12m_yuan",
        "arrears_yuan"]].itertuples(index=False)}


def test_vectorised_indicators_equal_the_loop(tmp_path):
    ids = [f"CU{i:06d}" for i in range(1, 61)]
    write_history(tmp_path, simulate_history(np.random.default_rng([3, 6]), ids, 4, "2026-09"))
    history = load_history(tmp_path / "master").rows
    loaded = load_payments(tmp_path / "master", set(history["customer_id"]))
    assert loaded is not None
    bills = loaded.rows
    extra = pd.DataFrame([  # over-paid (credited forward: no arrears), a bill in fen
        {"customer_id": "CU000001", "period": "2026-10", "due_on": date(2026, 9, 20),
         "amount_due_yuan": Decimal("100.00"), "paid_on": date(2026, 9, 1),
         "amount_paid_yuan": Decimal("105.50")},
        {"customer_id": "CU000002", "period": "2026-10", "due_on": date(2026, 9, 21),
         "amount_due_yuan": Decimal("0.01"), "paid_on": None, "amount_paid_yuan": Decimal(0)},
    ])
    bills = pd.concat([bills, extra], ignore_index=True)
    for month in ("2022-09", "2022-11", "2023-03", "2024-12", "2026-08", "2026-09", "2027-02"):
        fast, slow = payment_indicators(bills, month), loop_indicators(bills, month)
        assert _records(fast) == _records(slow), month
        assert len(fast) == len(slow) and (month == "2022-09") == (len(fast) == 0)
