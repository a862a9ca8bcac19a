"""The library model: LightGBM quantile regression, one global model for all customers
(docs/forecasting.md says why LightGBM).

Direct multi-horizon: one row per customer, origin and horizon; the features are known at the
origin (the two baselines and the last week as ratios of the customer's 28-day level, the
target day's weekday, day type and month, the horizon, the customer class), the target is the
day's kWh over that level, so one model serves customers of any size. Three boosters, for P10,
P50 and P90 (objective `quantile`); their outputs are sorted so the band never crosses.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from .baselines import like_day_average, seasonal_naive
from .metrics import QUANTILES
from .series import DAY_TYPES, DailySeries

LEVEL_DAYS = 28
TRAIN_ORIGINS = 52  # weekly, a year back: every season and holiday the history has
MAX_TRAIN_ROWS = 400_000
# linear_tree: a linear model in each leaf, so the temperature effect extrapolates past the
# coldest or hottest day of the training history (plain trees stay flat there: a winter colder
# than any before was forecast 5 % low on the test data); linear_lambda keeps those fits tame
PARAMS = {"learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 50,
          "feature_fraction": 0.9, "linear_tree": True, "linear_lambda": 1.0, "verbose": -1,
          "seed": 7, "deterministic": True, "num_threads": 1}
ROUNDS = 150
FEATURES = ("horizon", "weekday", "day_type", "month", "seasonal_naive", "like_day",
            "like_day_low", "like_day_high", "last_week", "customer_class", "temperature",
            "temperature_change")


@dataclass(frozen=True)
class Baselines:
    """Both baselines of one origin: arrays (customers, H, 3)."""

    seasonal_naive: np.ndarray
    like_day_average: np.ndarray


def baselines(series: DailySeries, origin: int, horizon: int) -> Baselines:
    return Baselines(seasonal_naive(series.kwh, origin, horizon),
                     like_day_average(series, origin, horizon))


def _level(kwh: np.ndarray, origin: int, days: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(kwh[:, max(0, origin - days + 1): origin + 1], axis=1)


def features(series: DailySeries, origin: int, horizon: int,
             base: Baselines) -> tuple[np.ndarray, np.ndarray]:
    """(rows customers × horizon in customer-major order, features) and each row's level
    (NaN when the customer has no complete day in the last 28)."""
    customers = series.kwh.shape[0]
    level = _level(series.kwh, origin, LEVEL_DAYS)
    scale = np.where(level > 0, level, np.nan)[:, None]
    temperature = series.temperatures
    targets = series.days[origin + 1: origin + horizon + 1]
    type_codes = np.array([DAY_TYPES.index(t) for t in series.day_types[origin + 1:
                                                                         origin + horizon + 1]])
    columns = [
        np.tile(np.arange(1, horizon + 1), (customers, 1)),
        np.tile(targets.weekday.to_numpy(), (customers, 1)),
        np.tile(type_codes, (customers, 1)),
        np.tile(targets.month.to_numpy(), (customers, 1)),
        base.seasonal_naive[:, :, 1] / scale,
        base.like_day_average[:, :, 1] / scale,
        base.like_day_average[:, :, 0] / scale,
        base.like_day_average[:, :, 2] / scale,
        np.repeat(_level(series.kwh, origin, 7)[:, None] / scale, horizon, axis=1),
        np.repeat(series.class_codes[:, None], horizon, axis=1),
        # the target day's temperature (observed in the backtest, the forecast file's ahead of
        # time) and its change from the last 28 days' mean; NaN without weather (LightGBM
        # sends missing values down a learnt side of each split)
        temperature[:, origin + 1: origin + horizon + 1],
        temperature[:, origin + 1: origin + horizon + 1] - _level(temperature, origin,
                                                                  LEVEL_DAYS)[:, None],
    ]
    matrix = np.stack([c.astype(float) for c in columns], axis=-1).reshape(-1, len(FEATURES))
    return matrix, np.repeat(scale[:, 0], horizon)


def training_rows(series: DailySeries, origin: int,
                  horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of up to `TRAIN_ORIGINS` weekly origins before `origin` whose targets are known at
    `origin` (no look-ahead), target = kWh / level, and each row's origin number (1 = the
    latest). To stay within `MAX_TRAIN_ROWS`, each origin takes a seeded sample of customers
    (all of them when few): many origins of some customers teach seasons and holidays better
    than few origins of all."""
    starts = [(w, origin - 7 * w) for w in range(1, TRAIN_ORIGINS + 1)
              if origin - 7 * w >= LEVEL_DAYS - 1]
    if not starts:
        return np.empty((0, len(FEATURES))), np.empty(0), np.empty(0, dtype=int)
    customers = series.kwh.shape[0]
    per_origin = min(customers, -(-MAX_TRAIN_ROWS // (len(starts) * horizon)))
    rng = np.random.default_rng(7)
    xs, ys, ws = [], [], []
    for week, start in starts:
        rows = (np.arange(customers) if per_origin == customers
                else np.sort(rng.choice(customers, per_origin, replace=False)))
        part = series.subset(rows)
        steps = min(horizon, origin - start)
        matrix, level = features(part, start, steps, baselines(part, start, steps))
        actual = part.kwh[:, start + 1: start + steps + 1].reshape(-1) / level
        keep = np.isfinite(actual)
        xs.append(matrix[keep])
        ys.append(actual[keep])
        ws.append(np.full(int(keep.sum()), week))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)


WEATHER_FEATURES = [FEATURES.index("temperature"), FEATURES.index("temperature_change")]
MIN_WEATHER_AHEAD = 0.5


CALIBRATION_WEEKS = 2  # the latest training origins calibrate the band instead of training


def fit_predict(series: DailySeries, origin: int, horizon: int,
                base: Baselines) -> np.ndarray | None:
    """P10/P50/P90 (customers, H, 3) from boosters trained on the history before `origin`;
    None when there are fewer than 200 training rows. Without temperatures for at least half
    of the targets (no forecast file), the model is trained and used on the calendar alone.

    The P10-P90 band is conformalized (conformalized quantile regression): the boosters are
    fitted without the `CALIBRATION_WEEKS` latest training origins, whose rows (the regime
    nearest the forecast) then give the margin by which the band must widen (or may narrow)
    to hold 80 % of their actuals."""
    x, y, week = training_rows(series, origin, horizon)
    if len(y) < 200:
        return None
    matrix, level = features(series, origin, horizon, base)
    if np.isfinite(matrix[:, WEATHER_FEATURES[0]]).mean() < MIN_WEATHER_AHEAD:
        x[:, WEATHER_FEATURES] = np.nan
        matrix[:, WEATHER_FEATURES] = np.nan
    held = week <= CALIBRATION_WEEKS
    if held.sum() < 50 or (~held).sum() < 200:
        held = np.zeros(len(y), dtype=bool)
    data = lgb.Dataset(x[~held], y[~held], feature_name=list(FEATURES),
                       categorical_feature=["customer_class"], free_raw_data=False)
    boosters = [lgb.train({**PARAMS, "objective": "quantile", "alpha": q}, data, ROUNDS)
                for q in QUANTILES]
    scaled = np.sort(np.stack([b.predict(matrix) for b in boosters], axis=-1), axis=-1)
    if held.any():
        low, high = (boosters[0].predict(x[held]), boosters[2].predict(x[held]))
        scores = np.maximum(low - y[held], y[held] - high)
        level_q = min(1.0, (QUANTILES[2] - QUANTILES[0]) * (1 + 1 / len(scores)))
        margin = float(np.quantile(scores, level_q))
        scaled[:, 0] -= margin
        scaled[:, 2] += margin
        scaled = np.sort(scaled, axis=-1)
    bands = scaled * level[:, None]
    return np.clip(bands, 0, None).reshape(series.kwh.shape[0], horizon, 3)
