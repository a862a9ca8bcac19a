"""The two baselines every model must beat (docs/forecasting.md), vectorised over customers.

Both give, for an origin (the last known day's column) and horizons 1..H, an array
(customers, H, 3) of P10 / P50 / P90 kWh; NaN where the customer has no usable day.
- seasonal naive: the same weekday of the latest week known at the origin; the band is the
  10th–90th percentile of that weekday over the last `BAND_DAYS` weeks.
- like-day average: VEE's like-day rule (docs/domain.md §8): the mean of the `like_days`
  (config.vee_parameters) nearest complete days of the target's day type (workday, weekend,
  holiday from core.dim_calendar), here the latest ones known at the origin; the band is the
  10th–90th percentile of the nearest `BAND_DAYS` like-days. A day type never seen (a first
  holiday) falls back to weekend, then workday.
"""

from __future__ import annotations

import warnings

import numpy as np

from .series import DAY_TYPES

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


def _bands(center: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """(P10, P50, P90) with P50 = `center` and the band from `sample`'s percentiles, kept
    around P50 and at or above zero."""
    low, high = row_quantile(sample, 0.1), row_quantile(sample, 0.9)
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
        out[:, h - 1] = _bands(first_known(sample, 1)[:, 0], sample)
    return out


def like_day_levels(kwh: np.ndarray, day_types: np.ndarray, origin: int,
                    like_days: int) -> dict[str, np.ndarray]:
    """Per day type, the like-day bands (customers, 3) known at `origin`: P50 = the mean of
    the `like_days` latest complete days of that type, the band from the latest `BAND_DAYS`.
    A type never seen borrows its fallback's (a first holiday: weekend, then workday)."""
    by_type = {}
    for day_type in DAY_TYPES:
        columns = np.flatnonzero(day_types[: origin + 1] == day_type)[::-1]
        sample = first_known(kwh[:, columns], max(like_days, BAND_DAYS)) if len(columns) else \
            np.full((kwh.shape[0], BAND_DAYS), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            center = np.nanmean(sample[:, :like_days], axis=1)
        by_type[day_type] = _bands(center, sample)
    levels = {}
    for day_type in DAY_TYPES:
        bands = np.full((kwh.shape[0], 3), np.nan)
        for fallback in FALLBACK[day_type]:
            missing = np.isnan(bands[:, 1])
            bands[missing] = by_type[fallback][missing]
        levels[day_type] = bands
    return levels


def like_day_average(kwh: np.ndarray, day_types: np.ndarray, origin: int, horizon: int,
                     like_days: int) -> np.ndarray:
    """Mean of the `like_days` latest complete days of the target's day type."""
    levels = like_day_levels(kwh, day_types, origin, like_days)
    return np.stack([levels[day_types[origin + h]] for h in range(1, horizon + 1)], axis=1)
