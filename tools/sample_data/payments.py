"""Monthly bills and their payments (`master/payments.csv`) for the contract histories.

One bill per customer and month a contract is in force, due on the 15th of the next month,
about annual MWh / 12 × 500 元/MWh. A customer's latent payment discipline `d` (its on-time
payment probability, 0.8–1.0, the same draw that sets `on_time_payment_rate`) decides each
bill: paid on time (0–9 days before the due date) with probability `d`, else late by an
exponential number of days with mean 5 + 300 × (1 − d). The file is exported at the end of
the history's last month: a payment after that is not in it (the bill is unpaid, arrears).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from foundation.months import add_months, month_bounds, month_end, month_range

PAYMENT_COLUMNS = ("customer_id", "period", "due_on", "amount_due_yuan", "paid_on",
                   "amount_paid_yuan")
PRICE_YUAN_PER_MWH = 500
DUE_DAY = 15


def simulate_payments(rng: np.random.Generator, contracts: list[dict[str, object]],
                      discipline: dict[str, float], end_month: str) -> list[dict[str, object]]:
    """Bills of every customer-month of `contracts`, as known at the end of `end_month`."""
    exported = month_end(month_bounds(end_month)[0])
    rows: list[dict[str, object]] = []
    for contract in contracts:
        customer = str(contract["customer_id"])
        d = discipline[customer]
        periods = month_range(str(contract["start_month"]), str(contract["end_month"]))
        n = len(periods)
        monthly = float(contract["annual_mwh"]) / 12 * PRICE_YUAN_PER_MWH
        amounts = monthly * rng.uniform(0.85, 1.15, n)
        on_time = rng.random(n) < d
        early = rng.integers(0, 10, n)
        late = 1 + np.floor(rng.exponential(5 + 300 * (1 - d), n)).astype(int)
        for k, period in enumerate(periods):
            due = month_bounds(add_months(period, 1))[0].replace(day=DUE_DAY)
            paid: date | None = due + timedelta(days=int(-early[k] if on_time[k] else late[k]))
            due_text = f"{amounts[k]:.2f}"
            if paid > exported:
                paid = None
            rows.append({"customer_id": customer, "period": period, "due_on": due.isoformat(),
                         "amount_due_yuan": due_text,
                         "paid_on": paid.isoformat() if paid else None,
                         "amount_paid_yuan": due_text if paid else "0.00"})
    return rows
