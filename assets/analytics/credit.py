"""Credit rating per customer and month (seed 001 用户信用评估: 良好 / 一般 / 较差).

As at the end of month M, over the bills due in the 12 months to M (M−11 … M):
`on_time_share` (bills fully paid by their due date / bills), `avg_days_late` (days past due
per bill: to the payment, or to the month end while unpaid), `arrears_yuan` (unpaid at the
month end, every bill due by then) and `arrears_months` (arrears / average bill); plus the
deviation penalties of the contract in force (`penalties_12m_yuan`) and the complaint tickets
opened in those 12 months. Each indicator earns points by the seed `credit_rating_rules`
(linear from full to zero points), the score is their sum (0–100) and the grade comes from
`credit_grades`. Under 3 months of bills: graded with a caveat; none: not graded.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from foundation.months import add_months, month_bounds, month_end
from quality.config_rules import SEEDS_DIR

from .config import (
    CreditRule,
    credit_grade_labels,
    credit_grades,
    credit_rules,
    first_in_force,
    pick,
)

SHORT_PAYMENT_MONTHS = 3
WINDOW_MONTHS = 12
ZERO, CENT = Decimal(0), Decimal("0.01")
NO_BILL_ARREARS_MONTHS = Decimal(99)  # arrears while the 12 months' bills are all 0 元
INDICATORS = ("on_time_share", "avg_days_late", "arrears_months", "penalties_12m_yuan",
              "complaints_12m")


def points(rule: CreditRule, value: Decimal) -> Decimal:
    """max_points at full_at or better, 0 at zero_at or worse, linear between; 2 dp."""
    share = (value - rule.zero_at) / (rule.full_at - rule.zero_at)
    return (rule.max_points * min(max(share, ZERO), Decimal(1))).quantize(CENT, ROUND_HALF_UP)


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), ROUND_HALF_UP)


def window(month: str) -> tuple[date, date]:
    """First day of month − 11 and last day of `month`: the 12 months rated."""
    return (month_bounds(add_months(month, 1 - WINDOW_MONTHS))[0],
            month_end(month_bounds(month)[0]))


def customers_in_month(history: pd.DataFrame, month: str) -> pd.DataFrame:
    """customer_id and penalties_12m_yuan of the latest contract in force in `month`."""
    live = history[(history["start_month"] <= month) & (history["end_month"] >= month)]
    live = live.sort_values(["customer_id", "start_month"]).drop_duplicates("customer_id",
                                                                            keep="last")
    return pd.DataFrame({"customer_id": live["customer_id"].to_numpy(),
                         "penalties_12m_yuan": live["deviation_penalties_12m_yuan"].to_numpy()})


def payment_indicators(payments: pd.DataFrame, month: str) -> pd.DataFrame:
    """Per customer with a bill due by the end of `month`: bills_12m, on_time_12m,
    days_late_12m, amount_due_12m_yuan, arrears_yuan. `payments` holds due_on / paid_on as
    dates (paid_on None when unpaid) and the amounts as Decimal in whole fen (inputs.py
    checks it).

    Per bill due by the month end: settled = paid by the month end; arrears += max(due −
    paid if settled, 0); and for the bills due in the 12 months: on time = settled by the due
    date in full, days late = to the payment (or the month end while unpaid) past the due
    date, at least 0. Vectorised in integer fen and days (one pass per month over every bill
    was the credit rating's cost at 10,000 customers); the Decimal sums are exact."""
    first, end = window(month)
    bills = payments[payments["due_on"] <= end]
    if not len(bills):
        return pd.DataFrame(columns=["customer_id", "bills_12m", "on_time_12m", "days_late_12m",
                                     "amount_due_12m_yuan", "arrears_yuan"])
    # days since the epoch (pandas parses date objects ~25× faster than numpy's astype)
    due = pd.to_datetime(bills["due_on"]).to_numpy().astype("datetime64[D]").astype("int64")
    paid_on = pd.to_datetime(bills["paid_on"]).to_numpy().astype("datetime64[D]")
    # Decimal yuan (whole fen) as int64 fen: exact, |amount| < 10^9 元 is far inside 2^53
    owed, paid_amount = (np.rint(bills[c].to_numpy(dtype="float64") * 100).astype("int64")
                         for c in ("amount_due_yuan", "amount_paid_yuan"))
    last = np.datetime64(end, "D").astype("int64")
    settled = ~np.isnat(paid_on) & (paid_on <= np.datetime64(end, "D"))
    paid_day = np.where(settled, paid_on.astype("int64"), last)
    paid = np.where(settled, paid_amount, 0)
    inside = due >= np.datetime64(first, "D").astype("int64")
    sums = pd.DataFrame({
        "customer_id": bills["customer_id"].to_numpy(),
        "bills_12m": inside.astype("int64"),
        "on_time_12m": (inside & settled & (paid_day <= due) & (paid >= owed)).astype("int64"),
        "days_late_12m": np.where(inside, np.maximum(paid_day - due, 0), 0),
        "amount_due_12m_yuan": np.where(inside, owed, 0),
        "arrears_yuan": np.maximum(owed - paid, 0),
    }).groupby("customer_id", sort=False).sum()
    for column in ("amount_due_12m_yuan", "arrears_yuan"):
        sums[column] = [Decimal(int(fen)).scaleb(-2) for fen in sums[column]]
    return sums.reset_index()


def credit_rows(month: str, customers: pd.DataFrame, payments: pd.DataFrame | None,
                complaints: pd.DataFrame, rules: list[CreditRule],
                grades: list[tuple[str, Decimal, Decimal]],
                labels: dict[str, str]) -> pd.DataFrame:
    """One row per customer of `customers` (customer_id, penalties_12m_yuan as Decimal): the
    indicators, each one's points, score, grade and caveat. `complaints`: customer_id and
    opened_on (date) of the complaint tickets; `payments` None = no payments file."""
    first, end = window(month)
    opened = complaints[(complaints["opened_on"] >= first) & (complaints["opened_on"] <= end)]
    counts = opened.groupby("customer_id").size()
    paid = payment_indicators(payments, month) if payments is not None else pd.DataFrame()
    paid = paid.set_index("customer_id").to_dict("index") if len(paid) else {}
    out = []
    for c in customers.itertuples(index=False):
        p = paid.get(c.customer_id, {})
        n = int(p.get("bills_12m", 0))
        row: dict[str, object] = {"month": month, "customer_id": c.customer_id,
                                  "payment_months": n, "penalties_12m_yuan": c.penalties_12m_yuan,
                                  "complaints_12m": int(counts.get(c.customer_id, 0))}
        if n:
            average_bill = p["amount_due_12m_yuan"] / n
            row.update({
                "on_time_share": _q(Decimal(p["on_time_12m"]) / n, "0.0001"),
                "avg_days_late": _q(Decimal(p["days_late_12m"]) / n, "0.1"),
                "arrears_yuan": p["arrears_yuan"],
                "arrears_months": (_q(p["arrears_yuan"] / average_bill, "0.01") if average_bill
                                   else ZERO if p["arrears_yuan"] == 0
                                   else NO_BILL_ARREARS_MONTHS)})
        out.append({**row, **_score(row, rules, grades, labels)})
    return pd.DataFrame(out, columns=TABLE_COLUMNS)


def _score(row: dict, rules: list[CreditRule], grades: list, labels: dict[str, str]) -> dict:
    n = row["payment_months"]
    if not n:
        return {"caveat": f"no_payment_records: no bill due in the {WINDOW_MONTHS} months to "
                          f"{row['month']}; not graded"}
    scored = {f"points_{r.indicator}": points(r, Decimal(row[r.indicator])) for r in rules}
    score = sum(scored.values(), ZERO)
    grade = pick(grades, score)
    caveat = (f"short_payment_history: {n} month(s) of payment records"
              if n < SHORT_PAYMENT_MONTHS else None)
    return {**scored, "credit_score": score, "credit_grade": grade,
            "credit_grade_zh": labels.get(grade), "caveat": caveat}


TABLE_COLUMNS = ["month", "customer_id", "payment_months", "on_time_share", "avg_days_late",
                 "arrears_yuan", "arrears_months", "penalties_12m_yuan", "complaints_12m",
                 *(f"points_{i}" for i in INDICATORS), "credit_score", "credit_grade",
                 "credit_grade_zh", "caveat"]


def scores_at_signing(history: pd.DataFrame, payments: pd.DataFrame | None,
                      complaints: pd.DataFrame, seeds_dir: Path = SEEDS_DIR) -> pd.Series:
    """Each contract's credit score as known when it was signed: the customer's rating as at
    the end of the month before `start_month` (rules and grades in force that month), indexed
    by contract_id; None when not graded (no bill due in those 12 months: a new customer; or
    the month is before the first `credit_rating_rules` row). A customer with no contract in
    force that month has no contract penalties (0)."""
    scores: dict[str, Decimal | None] = {}
    first_rules = first_in_force("credit_rating_rules", seeds_dir)
    for start, contracts in history.groupby("start_month"):
        month = add_months(str(start), -1)
        day = date.fromisoformat(f"{month}-01")
        if day < first_rules:
            scores.update(dict.fromkeys(contracts["contract_id"]))
            continue
        ids = set(contracts["customer_id"])
        in_force = customers_in_month(history, month)
        in_force = in_force[in_force["customer_id"].isin(ids)]
        new = sorted(ids - set(in_force["customer_id"]))
        customers = pd.concat([in_force, pd.DataFrame(
            {"customer_id": new, "penalties_12m_yuan": [ZERO] * len(new)})], ignore_index=True)
        own = None if payments is None else payments[payments["customer_id"].isin(ids)]
        rated = credit_rows(month, customers, own,
                            complaints[complaints["customer_id"].isin(ids)],
                            credit_rules(day, seeds_dir), credit_grades(day, seeds_dir),
                            credit_grade_labels(day, seeds_dir))
        score = dict(zip(rated["customer_id"], rated["credit_score"], strict=True))
        for customer_id, contract_id in zip(contracts["customer_id"], contracts["contract_id"],
                                            strict=True):
            value = score.get(customer_id)
            scores[contract_id] = None if value is None or pd.isna(value) else value
    return pd.Series(scores, dtype=object)
