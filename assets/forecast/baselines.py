"""The two baselines every model must beat (docs/forecasting.md), vectorised over customers.

Both give, for an origin (the last known day's column) and horizons 1..H, an array
(customers, H, 3) of P10 / P50 / P90 kWh; NaN where the customer has no usable day.
- seasonal naive: the same weekday of the latest week known at the origin; the band is the
  10th–90th percentile of that weekday over the last `BAND_DAYS` weeks.
- like-day average: VEE's like-day rule (docs/domain.md §8), computed by the same SQL macro
  (like_day_neighbours) in core.int_customer_like_day_levels: the mean of the `like_days`
  (config.vee_parameters) nearest complete days of the target's day type (workday, weekend,
  holiday from core.dim_calendar), here the latest ones known at the origin; the band is the
  10th–90th percentile of the nearest max(`like_days`, 8) like-days. A day type never seen
  (a first holiday) falls back to weekend, then workday.
"""

from __future__ import annotations

import numpy as np

from .series import DAY_TYPES, DailySeries

BAND_DAYS = 8
FALLBACK = {"holiday": ("holiday", "weekend", "workday"), "weekend": ("weekend", "workday"),
            "workday": ("workday", "weekend")}


def first_known(values: np.ndarray, n: int) -> np.ndarray:
    """Per row, the first `n` non-NaN values in column order (NaN-padded)."""
    order = np.argsort(np.isnan(values), axis=1, kind="stable")[:, :n]
    return np.take_along_axis(values, order, axis=1)


def row_quantile(sample: np.ndarray, q: float) -> np.ndarray:
    """Per row, the q-quantile of the non-NaN values (numpy's default linear interpolation,
    as `np.nanquantile`, vectorised: that one loops over rows in Python)."""
    ordered = np.sort(sample, axis=1)  # NaN last
    known = (~np.isnan(sample)).sum(axis=1)
    position = q * np.maximum(known - 1, 0)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, np.maximum(known - 1, 0))
    rows = np.arange(len(sample))
    value = ordered[rows, below] + (position - below) * (ordered[rows, above]
                                                          - ordered[rows, below])
    return np.where(known > 0, value, np.nan)


def _bands(center: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(P10, P50, P90) with P50 = `center` and the band `low`-`high` kept around P50 and at or
    above zero."""
    low, high = np.fmin(low, center), np.fmax(high, center)
    low = np.where(np.isnan(center), np.nan, low)
    high = np.where(np.isnan(center), np.nan, high)
    return np.clip(np.stack([low, center, high], axis=-1), 0, None)


def seasonal_naive(kwh: np.ndarray, origin: int, horizon: int) -> np.ndarray:
    """Same weekday, latest week known at `origin` (an older week when that day is missing)."""
    out = np.full((kwh.shape[0], horizon, 3), np.nan)
    for h in range(1, horizon + 1):
        weeks = -(-h // 7) + np.arange(BAND_DAYS)
        columns = origin + h - 7 * weeks
        sample = np.full((kwh.shape[0], BAND_DAYS), np.nan)
        inside = columns >= 0
        sample[:, inside] = kwh[:, columns[inside]]
        out[:, h - 1] = _bands(first_known(sample, 1)[:, 0], row_quantile(sample, 0.1),
                               row_quantile(sample, 0.9))
    return out


class MissingLevels(LookupError):
    """The series has no like-day levels at an origin the forecast asked for."""


def like_day_levels(series: DailySeries, origin: int) -> dict[str, np.ndarray]:
    """Per day type, the like-day bands (customers, 3) known at `origin`, from
    core.int_customer_like_day_levels. A type never seen borrows its fallback's (a first
    holiday: weekend, then workday)."""
    found = series.like_levels.get(origin)
    if found is None:
        raise MissingLevels(
            f"no like-day levels at {series.days[origin].date()} in "
            "core.int_customer_like_day_levels (it keeps the weekly origins back from the latest "
            "validated day and every month's eve; forecast_job builds it first)")
    by_type = {t: _bands(found[:, i, 0], found[:, i, 1], found[:, i, 2])
               for i, t in enumerate(DAY_TYPES)}
    levels = {}
    for day_type in DAY_TYPES:
        bands = np.full((len(found), 3), np.nan)
        for fallback in FALLBACK[day_type]:
            missing = np.isnan(bands[:, 1])
            bands[missing] = by_type[fallback][missing]
        levels[day_type] = bands
    return levels


def like_day_average(series: DailySeries, origin: int, horizon: int) -> np.ndarray:
    """Mean of the `like_days` latest complete days of the target's day type."""
    levels = like_day_levels(series, origin)
    return np.stack([levels[series.day_types[origin + h]] for h in range(1, horizon + 1)],
                    axis=1)
