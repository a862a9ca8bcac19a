"""Credit rating (issue 11, seed 001 用户信用评估): two customers' scores by hand, the grades of
the seed, bad payment rows quarantined with line and rule, a caveat for one month of
payments, no payments file, and the generator's payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from assets.analytics import config
from assets.analytics.churn import build_spells
from assets.analytics.credit import (
    TABLE_COLUMNS,
    credit_rows,
    customers_in_month,
    points,
    scores_at_signing,
)
from assets.analytics.inputs import PAYMENT_COLUMNS, load_history, load_payments
from assets.analytics.scoring import customer_measures
from tools.sample_data.history import simulate_history, write_history
from tools.sample_data.payments import PAYMENT_COLUMNS as WRITTEN_PAYMENT_COLUMNS
from tools.sample_data.writer import write_csv

DAY = date(2026, 3, 1)
MONTH = "2026-03"


def _rate(payments: pd.DataFrame | None, customers: list[tuple[str, str]],
          complaints: list[tuple[str, date]], month: str = MONTH) -> pd.DataFrame:
    day = date.fromisoformat(f"{month}-01")
    frame = pd.DataFrame({"customer_id": [c for c, _ in customers],
                          "penalties_12m_yuan": [Decimal(p) for _, p in customers]})
    opened = pd.DataFrame(complaints, columns=["customer_id", "opened_on"])
    return credit_rows(month, frame, payments, opened, config.credit_rules(day),
                       config.credit_grades(day), config.credit_grade_labels(day))


@pytest.fixture
def payments(tmp_path) -> pd.DataFrame:
    write_csv(tmp_path / "payments.csv", PAYMENT_COLUMNS, [
        # CU1: 1,000.00 a month; on time, 10 days late, on the due date; March not yet due
        ["CU1", "2025-12", "2026-01-15", "1000.00", "2026-01-10", "1000.00"],
        ["CU1", "2026-01", "2026-02-15", "1000.00", "2026-02-25", "1000.00"],
        ["CU1", "2026-02", "2026-03-15", "1000.00", "2026-03-15", "1000.00"],
        ["CU1", "2026-03", "2026-04-15", "1000.00", "", "0.00"],
        # CU2: 2,000.00 a month; never paid, paid after the month end, on time
        ["CU2", "2025-12", "2026-01-15", "2000.00", "", "0.00"],
        ["CU2", "2026-01", "2026-02-15", "2000.00", "2026-04-02", "2000.00"],
        ["CU2", "2026-02", "2026-03-15", "2000.00", "2026-03-10", "2000.00"],
        # CU3: a single bill, paid early
        ["CU3", "2026-02", "2026-03-15", "500.00", "2026-03-01", "500.00"],
    ])
    loaded = load_payments(tmp_path, {"CU1", "CU2", "CU3", "CU4"})
    assert loaded is not None and loaded.quarantined == []
    return loaded.rows


def test_two_customers_scored_by_hand(payments):
    """As at 2026-03-31, bills due 2025-04-01 … 2026-03-31 (CU1's March bill is not yet due).

    CU1: 2 of 3 bills on time → 0.6667; days late (0 + 10 + 0) / 3 = 3.3; arrears 0;
    penalties 10,000 元; 1 complaint. Points (seed: full → zero):
      on time   40 × (0.6667 − 0.5) / (1 − 0.5)   = 40 × 0.3334 = 13.336 → 13.34
      days late 20 × (30 − 3.3) / 30             = 20 × 0.89   = 17.80
      arrears   20 × (1 − 0) / 1                                = 20.00
      penalties 10 × (50,000 − 10,000) / 50,000  = 10 × 0.8    =  8.00
      complaint 10 × (4 − 1) / 4                 = 10 × 0.75   =  7.50
      score 13.34 + 17.80 + 20 + 8 + 7.50 = 66.64 → fair (60 ≤ s < 80), 一般.
    CU2: 1 of 3 on time → 0.3333; days late: 2025-12 bill unpaid 01-15 → 03-31 = 75, 2026-01
    bill paid 04-02, after the month end, so unpaid at it: 02-15 → 03-31 = 44, 0 → 119 / 3 =
    39.7; arrears 2,000 + 2,000 = 4,000 元 = 2.00 months of its 2,000 average bill; no
    penalties; a complaint of 2025-03-31 is before the window. Points 0 + 0 + 0 + 10 + 10 =
    20.00 → poor (较差)."""
    table = _rate(payments, [("CU1", "10000.00"), ("CU2", "0.00")],
                  [("CU1", date(2026, 2, 3)), ("CU2", date(2025, 3, 31))])
    assert list(table.columns) == TABLE_COLUMNS
    cu1, cu2 = (table.iloc[i].to_dict() for i in (0, 1))
    assert (cu1["payment_months"], cu1["on_time_share"], cu1["avg_days_late"],
            cu1["arrears_yuan"], cu1["arrears_months"], cu1["complaints_12m"]) == (
        3, Decimal("0.6667"), Decimal("3.3"), Decimal("0.00"), Decimal("0.00"), 1)
    assert [cu1[f"points_{k}"] for k in ("on_time_share", "avg_days_late", "arrears_months",
                                         "penalties_12m_yuan", "complaints_12m")] == [
        Decimal("13.34"), Decimal("17.80"), Decimal("20.00"), Decimal("8.00"), Decimal("7.50")]
    assert (cu1["credit_score"], cu1["credit_grade"], cu1["credit_grade_zh"]) == (
        Decimal("66.64"), "fair", "一般")
    assert cu1["caveat"] is None
    assert (cu2["on_time_share"], cu2["avg_days_late"], cu2["arrears_yuan"],
            cu2["arrears_months"], cu2["complaints_12m"]) == (
        Decimal("0.3333"), Decimal("39.7"), Decimal("4000.00"), Decimal("2.00"), 0)
    assert (cu2["credit_score"], cu2["credit_grade"], cu2["credit_grade_zh"]) == (
        Decimal("20.00"), "poor", "较差")
    assert all(isinstance(v, Decimal) for v in (cu2["arrears_yuan"], cu2["credit_score"]))


def test_the_same_bills_a_month_later(payments):
    """As at 2026-04-30 CU2's January bill is paid (04-02: 46 days late) and CU1's March bill
    (due 04-15) is unpaid: CU2 arrears 2,000 元, days late (105 + 46 + 0) / 3 = 50.3."""
    table = _rate(payments, [("CU1", "0"), ("CU2", "0")], [], month="2026-04")
    cu1, cu2 = table.iloc[0], table.iloc[1]
    assert (cu1["payment_months"], cu1["arrears_yuan"], cu1["on_time_share"]) == (
        4, Decimal("1000.00"), Decimal("0.5"))
    assert (cu2["arrears_yuan"], cu2["avg_days_late"]) == (Decimal("2000.00"), Decimal("50.3"))


def test_one_month_of_payments_is_graded_with_a_caveat_and_none_is_not_graded(payments):
    """CU3: one bill paid early: every indicator at full points, 100 → good, with a caveat.
    CU4: no bill at all: no grade, the caveat says why."""
    table = _rate(payments, [("CU3", "0"), ("CU4", "0")], []).set_index("customer_id")
    assert (table.loc["CU3", "credit_score"], table.loc["CU3", "credit_grade"]) == (
        Decimal("100.00"), "good")
    assert table.loc["CU3", "caveat"] == "short_payment_history: 1 month(s) of payment records"
    assert pd.isna(table.loc["CU4", "credit_grade"]) and pd.isna(table.loc["CU4",
                                                                            "credit_score"])
    assert table.loc["CU4", "caveat"].startswith("no_payment_records")


def test_the_churn_model_reads_the_credit_score_known_at_signing(payments):
    """Contracts starting 2026-04 are signed on the March rating (the month before). CU1 renews
    (its 2025-04…2026-03 contract, penalties 10,000 元, is in force in March): 66.64 as in the
    hand computation above → churn covariate (100 − 66.64) / 10 = 3.336. CU2 comes back after
    a gap (no contract in March: penalties 0; it had none anyway): 20.00 → 8.0. CU4 is new
    (no bill due): not graded → 0. A contract signed in 2019, before the first
    credit_rating_rules row (2020-01-01), is not graded either → 0."""
    history = pd.DataFrame({
        "contract_id": ["K1", "K2", "K3", "K4", "K5"],
        "customer_id": ["CU1", "CU1", "CU2", "CU4", "CU3"],
        "customer_since": ["2025-04", "2025-04", "2025-01", "2026-04", "2019-06"],
        "start_month": ["2025-04", "2026-04", "2026-04", "2026-04", "2019-06"],
        "end_month": ["2026-03", "2026-06", "2026-06", "2026-06", "2019-12"],
        "outcome": ["renewed", "active", "active", "active", "non_renewal"],
        "price_gap_yuan_per_mwh": ["0"] * 5,
        "deviation_penalties_12m_yuan": [Decimal("10000.00"), Decimal("0.00"), Decimal("0.00"),
                                         Decimal("0.00"), Decimal("0.00")]})
    tickets = pd.DataFrame({"customer_id": ["CU1", "CU2"], "category": ["complaint"] * 2,
                            "opened_on": [date(2026, 2, 3), date(2025, 3, 31)]})
    scores = scores_at_signing(history, payments, tickets)
    assert scores.to_dict() == {"K1": None, "K2": Decimal("66.64"), "K3": Decimal("20.00"),
                                "K4": None, "K5": None}
    spells = build_spells(history, tickets, scores).set_index("contract_id")
    assert spells["credit_shortfall_10pts"].to_dict() == pytest.approx(
        {"K1": 0.0, "K2": 3.336, "K3": 8.0, "K4": 0.0, "K5": 0.0})


def test_grades_and_points_follow_the_seeds():
    grades = config.credit_grades(DAY)
    assert grades == [("poor", Decimal(0), Decimal(60)), ("fair", Decimal(60), Decimal(80)),
                      ("good", Decimal(80), Decimal(100))]
    assert [config.pick(grades, Decimal(s)) for s in
            ("0", "59.99", "60", "79.99", "80", "100")] == [
        "poor", "poor", "fair", "fair", "good", "good"]
    assert config.credit_grade_labels(DAY) == {"good": "良好", "fair": "一般", "poor": "较差"}
    rules = {r.indicator: r for r in config.credit_rules(DAY)}
    assert sum(r.max_points for r in rules.values()) == 100
    # days late: 20 points at 0 days, 0 at 30 or more; 15 days → 10.00
    assert [points(rules["avg_days_late"], Decimal(d)) for d in ("0", "15", "30", "45")] == [
        Decimal("20.00"), Decimal("10.00"), Decimal("0.00"), Decimal("0.00")]


def test_a_missing_payments_file_does_not_crash(tmp_path):
    """No master/payments.csv: the loader says so (None) and every customer is rated
    no_payment_records, without a grade."""
    assert load_payments(tmp_path, {"CU1"}) is None
    table = _rate(None, [("CU1", "100.00")], [("CU1", date(2026, 3, 2))])
    assert table["caveat"].iloc[0].startswith("no_payment_records")
    assert table["credit_grade"].isna().all() and table["complaints_12m"].iloc[0] == 1


def test_credit_grade_is_reported_beside_the_measure():
    risk = pd.DataFrame({"month": MONTH, "customer_id": ["C1", "C2"],
                         "churn_probability_90d": [0.35, 0.05], "risk_band": ["high", "low"]})
    value = pd.DataFrame({"month": MONTH, "customer_id": ["C1", "C2"],
                          "value_score": [90.0, 20.0], "value_grade": ["A", "C"]})
    credit = pd.DataFrame({"month": [MONTH, MONTH, "2026-02"], "customer_id": ["C1", "C9", "C2"],
                           "credit_score": [Decimal("66.64"), Decimal(1), Decimal(99)],
                           "credit_grade": ["fair", "poor", "good"]})
    table = customer_measures(risk, value, config.measures(DAY), credit)
    assert list(table["measure_code"]) == ["retain_priority", "standard"]
    assert table["credit_grade"].tolist()[0] == "fair" and pd.isna(table["credit_grade"][1])


def test_the_generator_writes_one_bill_per_customer_month_from_the_discipline(tmp_path):
    """Every month in force has one bill; nothing is paid after the export (the history's last
    day); the same seed gives the same file; worse payers (lower on-time rate) pay late more."""
    ids = [f"CU{i:06d}" for i in range(1, 101)]
    write_history(tmp_path, simulate_history(np.random.default_rng([5, 6]), ids, 4, "2026-09"))
    assert WRITTEN_PAYMENT_COLUMNS == PAYMENT_COLUMNS
    history = load_history(tmp_path / "master").rows
    loaded = load_payments(tmp_path / "master", set(history["customer_id"]))
    assert loaded is not None and loaded.quarantined == []
    bills = loaded.rows
    months = sum(len(pd.period_range(s, e, freq="M"))
                 for s, e in zip(history["start_month"], history["end_month"], strict=True))
    assert len(bills) == months
    assert max(d for d in bills["paid_on"] if d is not None) <= date(2026, 9, 30)
    again = tmp_path / "again"
    write_history(again, simulate_history(np.random.default_rng([5, 6]), ids, 4, "2026-09"))
    assert (again / "master" / "payments.csv").read_bytes() == \
        (tmp_path / "master" / "payments.csv").read_bytes()
    rate = history.groupby("customer_id")["on_time_payment_rate"].first().astype(float)
    on_time = bills.assign(ok=[p is not None and p <= d for p, d in
                               zip(bills["paid_on"], bills["due_on"], strict=True)]
                           ).groupby("customer_id")["ok"].mean()
    assert on_time[rate[rate < 0.85].index].mean() < on_time[rate[rate > 0.95].index].mean()
    current = customers_in_month(history, "2026-09")
    assert set(ids) <= set(current["customer_id"])
