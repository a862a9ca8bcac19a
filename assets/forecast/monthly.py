"""Monthly kWh per customer for the open month and the 11 after it, P10 / P50 / P90
(docs/forecasting.md, "Monthly forecast").

- A month whose remaining days all lie within the daily forecast's 35 days: the validated kWh
  of its days up to the origin + the daily forecast of the rest (the band summed as the
  projection sums it).
- A later month: the customer's like-day levels at the origin (per day type, domain.md §8)
  times the month's day types (core.dim_calendar), scaled by the season where a year of
  history shows it: × (the same month a year before / its like-day expectation from the
  like-day levels a year before its start). Without that month's history the calendar alone
  (method `like_day`).
- The band of a later month: the daily forecast's relative band, widened by √(months after
  the open month + 1): uncertainty grows with the lead time (a stated heuristic, not fitted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .baselines import like_day_levels
from .series import DAY_TYPES, DailySeries

MONTHS = 12
MIN_SEASON_DAYS = 25  # complete days the year-before month needs to scale by its season


def month_starts(origin_day: pd.Timestamp, months: int = MONTHS) -> list[pd.Timestamp]:
    """The open month (of origin + 1 day) and the months after it."""
    first = (origin_day + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    return [first + pd.DateOffset(months=k) for k in range(months)]


def _type_counts(calendar: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Days of each type (DAY_TYPES order) in [start, end]."""
    days = calendar.loc[start:end]
    return np.array([(days == t).sum() for t in DAY_TYPES], dtype=float)


def monthly_forecast(series: DailySeries, daily: np.ndarray, calendar: pd.Series,
                     months: int = MONTHS) -> pd.DataFrame:
    """`daily`: the served daily bands (customers, 35, 3) from `series.last`; `calendar`: day
    type by day (DatetimeIndex) from the series' first day through the last month (the
    history's months give the season). One row per customer and month."""
    origin = series.last
    origin_day = series.days[origin]
    horizon_end = origin_day + pd.Timedelta(days=daily.shape[1])
    levels = like_day_levels(series, origin)
    level_matrix = np.stack([levels[t][:, 1] for t in DAY_TYPES], axis=1)  # (customers, types)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.nansum(daily[:, :, 0], axis=1) / np.nansum(daily[:, :, 1], axis=1)
        high = np.nansum(daily[:, :, 2], axis=1) / np.nansum(daily[:, :, 1], axis=1)
    rows = []
    for k, start in enumerate(month_starts(origin_day, months)):
        end = start + pd.offsets.MonthEnd(0)
        if end <= horizon_end:
            first_column = max(0, (start - series.days[0]).days)
            actual = (np.nansum(series.kwh[:, first_column: origin + 1], axis=1)
                      if start <= origin_day else np.zeros(len(low)))
            first = max(0, (start - origin_day).days - 1)
            last = (end - origin_day).days
            bands = actual[:, None] + daily[:, first:last].sum(axis=1)  # NaN: no forecast
            method = np.full(len(low), "daily_sum", dtype=object)
        else:
            expected = level_matrix @ _type_counts(calendar, start, end)
            season, seasonal = _season(series, calendar, start, end)
            p50 = expected * np.where(seasonal, season, 1.0)
            widen = np.sqrt(k + 1)
            bands = np.stack([p50 * np.clip(1 - (1 - low) * widen, 0, None), p50,
                              p50 * (1 + (high - 1) * widen)], axis=1)
            method = np.where(seasonal, "like_day_season", "like_day")
        for c, customer in enumerate(series.customers):
            if np.isfinite(bands[c]).all():
                rows.append({"customer_id": customer, "customer_class": series.classes[c],
                             "period": start.strftime("%Y-%m"),
                             "origin_day": origin_day.date(), "method": method[c],
                             "p10_kwh": round(float(bands[c, 0]), 3),
                             "p50_kwh": round(float(bands[c, 1]), 3),
                             "p90_kwh": round(float(bands[c, 2]), 3)})
    return pd.DataFrame(rows)


def _season(series: DailySeries, calendar: pd.Series, start: pd.Timestamp,
            end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: the year-before month's kWh over its like-day expectation (levels known
    at the day before it), and whether it had `MIN_SEASON_DAYS` complete days."""
    before, before_end = start - pd.DateOffset(years=1), end - pd.DateOffset(years=1)
    customers = series.kwh.shape[0]
    if before - pd.Timedelta(days=1) < series.days[0] or before_end > series.days[series.last]:
        return np.ones(customers), np.zeros(customers, dtype=bool)
    columns = slice(series.days.get_loc(before), series.days.get_loc(before_end) + 1)
    actual = series.kwh[:, columns]
    complete = (~np.isnan(actual)).sum(axis=1)
    then = like_day_levels(series, series.days.get_loc(before) - 1)
    expected = (np.stack([then[t][:, 1] for t in DAY_TYPES], axis=1)
                @ _type_counts(calendar, before, before_end))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.nansum(actual, axis=1) * (len(actual[0]) / np.maximum(complete, 1)) / expected
    seasonal = (complete >= MIN_SEASON_DAYS) & np.isfinite(ratio) & (ratio > 0)
    return np.where(seasonal, ratio, 1.0), seasonal
