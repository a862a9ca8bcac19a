"""Hostile analytics inputs: payment rows quarantined with line and rule (nothing lost), and
credit-rating config that does not add up refused (moved here from tests/unit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assets.analytics import config
from assets.analytics.inputs import PAYMENT_COLUMNS, load_payments
from tools.sample_data.writer import write_csv

DAY = date(2026, 3, 1)


def test_rules_that_do_not_add_up_to_100_and_grades_with_a_gap_are_refused(tmp_path):
    (tmp_path / "credit_rating_rules.csv").write_text(
        "indicator,max_points,full_points_at,zero_points_at,valid_from,valid_to,source\n"
        "on_time_share,40,1,0.5,2020-01-01,,x\ncomplaints_12m,50,0,4,2020-01-01,,x\n",
        encoding="utf-8")
    with pytest.raises(ValueError, match="90 points, not 100"):
        config.credit_rules(DAY, tmp_path)
    (tmp_path / "credit_grades.csv").write_text(
        "grade,grade_zh,min_score,max_score,valid_from,valid_to,source\n"
        "poor,较差,0,60,2020-01-01,,x\ngood,良好,80,100,2020-01-01,,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tile \[0, 100\]"):
        config.credit_grades(DAY, tmp_path)


def test_bad_payment_rows_are_quarantined_with_line_and_rule(tmp_path):
    good = ["CU1", "2026-01", "2026-02-15", "100.00", "2026-02-10", "100.00"]
    write_csv(tmp_path / "payments.csv", PAYMENT_COLUMNS, [
        good,                                                                   # line 2
        ["CU1", "2026-01", "2026-02-15", "100.00", "", "0.00"],                 # duplicate
        ["CU2", "2026-01", "2026-02-15", "-5.00", "", "0.00"],                  # negative
        ["CU404", "2026-01", "2026-02-15", "100.00", "", "0.00"],               # unknown
        ["CU2", "2026-01", "2026-02-30", "100.00", "", "0.00"],                 # bad date
        ["CU2", "2026-02", "2026-03-15", "100.00", "", "100.00"],               # no date
        ["CU2", "2026-03", "2026-04-15", "100.00", "2026-04-01", "200.00"],     # overpaid
        ["CU2", "2026-04", "2026-05-15", "100.005", "", "0.00"],                # 3 decimals
        ["CU2", "2026-13", "2026-05-15", "100.00", "", "0.00"],                 # bad month
        ["CU2", "2026-05", "2026-04-15", "100.00", "", "0.00"],                 # due early
        ["CU2", "2026-06", "2026-07-15", "100.00", "", "0.00"],                 # good, unpaid
    ])
    loaded = load_payments(tmp_path, {"CU1", "CU2"})
    assert loaded is not None
    assert [(q["source_row"], q["rule"]) for q in loaded.quarantined] == [
        (4, "out_of_range"), (5, "unknown_customer"), (6, "bad_date"), (7, "paid_on_mismatch"),
        (8, "overpaid"), (9, "bad_number"), (10, "bad_month"), (11, "due_before_period"),
        (3, "duplicate_key")]
    assert all(q["file_name"] == "payments.csv" and q["reason"] and q["raw_record"]
               for q in loaded.quarantined)
    assert "CU404" in loaded.quarantined[1]["reason"]
    assert list(loaded.rows["period"]) == ["2026-01", "2026-06"]
    assert loaded.rows["amount_due_yuan"].tolist() == [Decimal("100.00"), Decimal("100.00")]
    assert loaded.rows["paid_on"].tolist() == [date(2026, 2, 10), None]
    assert len(loaded.rows) + len(loaded.quarantined) == 11  # nothing lost
