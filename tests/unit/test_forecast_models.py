"""Forecast measures and baselines (issue 10) on tiny series computed by hand."""

import numpy as np
import pandas as pd
import pytest

from assets.forecast import metrics
from assets.forecast.backtest import choose_models, score
from assets.forecast.baselines import MissingLevels, like_day_average, seasonal_naive
from assets.forecast.series import DailySeries

ACTUAL = np.array([100.0, 200.0, 0.0, 50.0])
BANDS = np.array([[90.0, 110.0, 120.0], [170.0, 180.0, 190.0], [0.0, 10.0, 5.0],
                  [40.0, 50.0, 60.0]])


def test_the_measures_of_a_four_day_series_match_the_hand_computation():
    # |e| = 10, 20, 10, 0; Σ|actual| = 350; the zero actual is left out of MAPE only
    assert metrics.mape(ACTUAL, BANDS[:, 1]) == pytest.approx((0.1 + 0.1 + 0.0) / 3)
    assert metrics.wape(ACTUAL, BANDS[:, 1]) == pytest.approx(40 / 350)
    assert metrics.bias(ACTUAL, BANDS[:, 1]) == pytest.approx(0.0)  # +10 −20 +10 +0
    # P10: r = 10, 30, 0, 10 → 0.1 r = 1, 3, 0, 1 (mean 1.25); P50: 5, 10, 5, 0 (5);
    # P90: r = −20, 10, −5, −10 → 2, 9, 0.5, 1 (3.125); mean of the three = 3.125
    assert metrics.pinball(ACTUAL, BANDS) == pytest.approx((1.25 + 5 + 3.125) / 3)
    assert metrics.coverage(ACTUAL, BANDS) == pytest.approx(0.75)  # 200 is above its P90


def test_score_leaves_out_missing_actuals_and_forecasts():
    actual = np.array([100.0, np.nan, 50.0])
    bands = np.array([[90.0, 100.0, 110.0], [1.0, 2.0, 3.0], [np.nan] * 3])
    measured = score(actual, bands)
    assert measured["targets"] == 1 and measured["wape"] == 0.0
    assert score(np.array([np.nan]), bands[:1])["targets"] == 0


def _week_series() -> tuple[np.ndarray, np.ndarray]:
    """One customer, 14 days: Mon–Fri workdays, Sat–Sun weekend; kWh = 10 × day number
    (day 0..13), day 9 missing."""
    kwh = np.arange(14, dtype=float)[None, :] * 10
    kwh[0, 9] = np.nan
    types = np.array((["workday"] * 5 + ["weekend"] * 2) * 3)  # 21 days: 7 beyond the origin
    return np.concatenate([kwh, np.full((1, 7), np.nan)], axis=1), types


def test_seasonal_naive_takes_the_same_weekday_of_the_latest_known_week():
    kwh, _ = _week_series()
    bands = seasonal_naive(kwh, origin=13, horizon=3)
    # h=1 → day 14: day 7 (70); h=2 → day 15: day 8 (80); h=3 → day 16: day 9 is missing,
    # so day 2 (20)
    assert bands[0, :, 1].tolist() == [70.0, 80.0, 20.0]
    # the band is the 10th–90th percentile of that weekday's weeks (days 7 and 0): 7 and 63,
    # kept around P50
    assert bands[0, 0, 0] == pytest.approx(7.0) and bands[0, 0, 2] == pytest.approx(70.0)


def _levelled_series(types: np.ndarray) -> DailySeries:
    """The week series with like-day levels at origin 13 as core.int_customer_like_day_levels
    gives them (its dbt unit test like_day_levels_at_the_weekly_origins computes them by hand):
    workday 96.667 (band 17-103), weekend 103.333 (band 53-127), no holiday."""
    kwh, _ = _week_series()
    levels = np.array([[[(110 + 100 + 80) / 3, 17.0, 103.0],
                        [(130 + 120 + 60) / 3, 53.0, 127.0],
                        [np.nan, np.nan, np.nan]]])
    return DailySeries(customers=np.array(["C1"]), classes=np.array(["industrial"]),
                       class_codes=np.array([0.0]),
                       days=pd.date_range("2026-06-01", periods=21, freq="D"),
                       day_types=types, kwh=kwh, last=13, like_levels={13: levels})


def test_like_day_average_serves_each_target_day_its_type_level():
    _, types = _week_series()
    bands = like_day_average(_levelled_series(types), origin=13, horizon=7)
    # days 14-18 are workdays, 19-20 weekend days
    assert bands[0, :, 1].tolist() == pytest.approx([(110 + 100 + 80) / 3] * 5
                                                    + [(130 + 120 + 60) / 3] * 2)
    assert bands[0, 0].tolist() == pytest.approx([17.0, (110 + 100 + 80) / 3, 103.0])
    assert (bands[0, :, 0] <= bands[0, :, 1]).all() and (bands[0, :, 1] <= bands[0, :, 2]).all()


def test_a_holiday_never_seen_falls_back_to_the_weekend_like_days():
    _, types = _week_series()
    types = types.copy()
    types[14] = "holiday"
    bands = like_day_average(_levelled_series(types), origin=13, horizon=1)
    assert bands[0, 0, 1] == pytest.approx((130 + 120 + 60) / 3)


def test_an_origin_without_levels_is_refused_with_its_reason():
    _, types = _week_series()
    with pytest.raises(MissingLevels, match="no like-day levels at 2026-06-07 in "
                                            "core.int_customer_like_day_levels"):
        like_day_average(_levelled_series(types), origin=6, horizon=1)


def test_the_model_is_chosen_only_for_a_class_where_it_beats_the_best_baseline():
    rows = pd.DataFrame([
        # industrial: baselines WAPE 0.20 and 0.10, model 0.08 → model, 20 % better
        ("seasonal_naive", "industrial", 20.0, 100.0),
        ("like_day_average", "industrial", 10.0, 100.0),
        ("lightgbm", "industrial", 8.0, 100.0),
        # commercial: model 0.12 against the like-day's 0.10 → like-day average
        ("seasonal_naive", "commercial", 30.0, 100.0),
        ("like_day_average", "commercial", 10.0, 100.0),
        ("lightgbm", "commercial", 12.0, 100.0),
    ], columns=["model", "customer_class", "abs_error_kwh", "actual_kwh"])
    choice = choose_models(rows).set_index("customer_class")
    assert choice.loc["industrial", "chosen"] == "lightgbm"
    assert choice.loc["industrial", "improvement"] == pytest.approx(0.2)
    assert choice.loc["commercial", "chosen"] == "like_day_average"
    assert choice.loc["commercial", "improvement"] == pytest.approx(-0.2)


def test_a_state_is_told_when_it_turns_risky_changes_or_returns_to_the_free_band():
    from assets.forecast.notices import changed_states

    projection = pd.DataFrame({
        "contract_id": ["K1", "K2", "K3", "K4", "K5", "K6"], "period": ["2026-11"] * 6,
        "risk_state": ["outside_free_band", "beyond_tier2", "within_free_band",
                       "within_free_band", "no_forecast", "beyond_tier2"]})
    told = {("K2", "2026-11"): "outside_free_band", ("K3", "2026-11"): "beyond_tier2",
            ("K5", "2026-11"): "beyond_tier2", ("K6", "2026-11"): "beyond_tier2"}
    # K1 new and risky, K2 worse, K3 back within; K4 within and never risky, K5 without a
    # forecast, K6 unchanged: not told
    assert changed_states(projection, told)["contract_id"].tolist() == ["K1", "K2", "K3"]
