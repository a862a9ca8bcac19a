"""Customer value (issue 11): the coefficient-of-variation example of domain.md §9 by hand,
grades and the risk band × grade measures from the config seeds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from assets.analytics import config
from assets.analytics.scoring import customer_measures, customer_value
from assets.analytics.value import grade_by_rank, make_positive, value_scores

# annual MWh, margin 元/MWh, on-time payment rate (domain.md §9)
EXAMPLE = np.array([[1200, 15, 0.98], [800, 25, 0.90], [3000, 10, 1.00], [500, 30, 0.85]])
DAY = date(2026, 10, 1)


def test_cv_weights_and_scores_of_the_domain_example():
    """CV = s/x̄: MWh s = 1,115.7, x̄ = 1,375 → 0.815; margin 9.13/20 → 0.456; rate
    0.0665/0.9325 → 0.071 … 0.075 with z; w = 0.605 / 0.339 / 0.056; scores 56.0 / 56.7 /
    100.0 / 54.3."""
    result = value_scores(EXAMPLE, [True, True, True])
    assert [round(v, 3) for v in result.cv] == [0.815, 0.456, 0.075]
    assert [round(v, 3) for v in result.weights] == [0.605, 0.339, 0.056]
    assert [round(v, 1) for v in result.scores] == [56.0, 56.7, 100.0, 54.3]


def test_a_negative_indicator_is_made_positive_with_k():
    """1/(k + max|x| + x), k = 0.1, max|x| = 3: 1/4.1, 1/5.1, 1/6.1 (less is better)."""
    got = make_positive(np.array([1.0, 2.0, 3.0]), positive=False)
    assert got == pytest.approx([1 / 4.1, 1 / 5.1, 1 / 6.1])
    assert list(make_positive(np.array([1.0, 2.0]), positive=True)) == [1.0, 2.0]


def test_one_customer_cannot_be_scored():
    with pytest.raises(ValueError, match="at least two customers"):
        value_scores(EXAMPLE[:1], [True, True, True])


def test_grades_by_the_share_of_customers_scored_above():
    """The example's scores 56.0 / 56.7 / 100.0 / 54.3 have 2, 1, 0, 3 customers above: shares
    .5, .25, 0, .75 → C, B (< .50), A (< .20), C; 10 customers
    → 2 A, 3 B, 5 C; ties share the grade."""
    grades = config.grades(DAY)
    assert grade_by_rank(np.array([56.0, 56.7, 100.0, 54.3]), grades) == ["C", "B", "A", "C"]
    ten = grade_by_rank(np.arange(10, 0, -1), grades)
    assert ten == ["A"] * 2 + ["B"] * 3 + ["C"] * 5
    assert grade_by_rank(np.array([5.0, 5.0, 1.0]), grades) == ["A", "A", "C"]


def test_bands_follow_the_seed():
    bands = config.bands(DAY)
    assert [(b, lo, hi) for b, lo, hi in bands] == [
        ("low", Decimal("0"), Decimal("0.15")), ("medium", Decimal("0.15"), Decimal("0.30")),
        ("high", Decimal("0.30"), Decimal("1"))]
    assert [config.pick(bands, p) for p in (0.0, 0.1499, 0.15, 0.157, 0.2999, 0.30, 1.0)] == [
        "low", "low", "medium", "medium", "medium", "high", "high"]


def test_bands_with_a_gap_are_refused(tmp_path):
    (tmp_path / "churn_risk_bands.csv").write_text(
        "band,min_probability,max_probability,valid_from,valid_to,source\n"
        "low,0,0.15,2020-01-01,,x\nhigh,0.30,1,2020-01-01,,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tile"):
        config.bands(DAY, tmp_path)


def test_value_table_and_measures_per_customer():
    current = pd.DataFrame(EXAMPLE, columns=["annual_mwh", "margin_yuan_per_mwh",
                                             "on_time_payment_rate"])
    current.insert(0, "customer_id", ["C1", "C2", "C3", "C4"])
    value, weights = customer_value(current, "2026-10", config.indicators(DAY),
                                    config.grades(DAY))
    assert list(value["value_score"]) == [56.0, 56.7, 100.0, 54.3]
    assert list(value["value_grade"]) == ["C", "B", "A", "C"]
    assert [round(weights[k]["weight"], 3) for k in weights] == [0.605, 0.339, 0.056]
    risk = pd.DataFrame({"month": "2026-10", "customer_id": ["C1", "C2", "C3", "C4", "C5"],
                         "churn_probability_90d": [0.35, 0.20, 0.05, 0.157, 0.5],
                         "risk_band": ["high", "medium", "low", "medium", "high"]})
    table = customer_measures(risk, value, config.measures(DAY))
    assert list(zip(table["customer_id"], table["measure_code"], strict=True)) == [
        ("C1", "review"), ("C2", "nurture"), ("C3", "grow"),
        ("C4", "monitor"), ("C5", None)]
    assert table["reason"].iloc[4] == "no value grade"
    assert table["reason"].iloc[:4].isna().all()
