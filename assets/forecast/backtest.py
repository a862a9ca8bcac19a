"""Rolling-origin backtest and the forecast it chooses (docs/forecasting.md).

Origins are weekly, the latest one `horizon` days before the last validated day so that every
horizon has its actual; each model forecasts from what was known at the origin (LightGBM is
trained again per origin on earlier targets only). All models are scored on the same targets:
those every model forecast (LightGBM has none for a customer without a complete day in the
28 before the origin; the baselines may still have one). Per customer class a model is used only
where its WAPE over all origins and horizons beats the best baseline's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import metrics
from .gbm import LEVEL_DAYS, Baselines, baselines, fit_predict
from .series import DailySeries

HORIZON = 35
ORIGINS = 4
MIN_TRAINING_WEEKS = 4
MIN_HISTORY_DAYS = 7
BASELINES = ("seasonal_naive", "like_day_average")
MODEL = "lightgbm"


def origins(series: DailySeries, horizon: int = HORIZON, count: int = ORIGINS) -> list[int]:
    """Columns of the backtest origins (oldest first); none when the history is too short
    (`LEVEL_DAYS` + `MIN_TRAINING_WEEKS` weeks before the first, `horizon` days after it)."""
    earliest = LEVEL_DAYS - 1 + 7 * MIN_TRAINING_WEEKS
    return sorted(o for o in (series.last - horizon - 7 * k for k in range(count))
                  if o >= earliest)


def forecasts_at(series: DailySeries, origin: int, horizon: int,
                 with_model: bool = True) -> dict[str, np.ndarray | None]:
    """Every model's bands (customers, horizon, 3) from `origin`; the model's is None when it
    could not be trained."""
    base: Baselines = baselines(series, origin, horizon)
    out: dict[str, np.ndarray | None] = {"seasonal_naive": base.seasonal_naive,
                                         "like_day_average": base.like_day_average}
    out[MODEL] = fit_predict(series, origin, horizon, base) if with_model else None
    return out


def score(actual: np.ndarray, bands: np.ndarray) -> dict[str, float | int | None]:
    """The backtest measures of one group of targets (NaN actuals or forecasts left out)."""
    keep = np.isfinite(actual) & np.isfinite(bands[:, 1])
    a, b = actual[keep], bands[keep]
    if not len(a):
        return {"targets": 0}
    return {"targets": int(len(a)), "actual_kwh": float(a.sum()),
            "abs_error_kwh": float(np.abs(b[:, 1] - a).sum()),
            "mape": metrics.mape(a, b[:, 1]), "wape": metrics.wape(a, b[:, 1]),
            "bias": metrics.bias(a, b[:, 1]), "pinball_kwh": metrics.pinball(a, b),
            "coverage_p10_p90": metrics.coverage(a, b)}


def run_backtest(series: DailySeries, horizon: int = HORIZON,
                 count: int = ORIGINS) -> pd.DataFrame:
    """One row per model, horizon, customer class and origin."""
    rows = []
    classes = np.unique(series.classes)
    for origin in origins(series, horizon, count):
        actual = series.kwh[:, origin + 1: origin + horizon + 1]
        made = {m: b for m, b in forecasts_at(series, origin, horizon).items()
                if b is not None}
        # every model is scored on the same targets: those all of them forecast
        common = np.logical_and.reduce([np.isfinite(b[:, :, 1]) for b in made.values()])
        actual = np.where(common, actual, np.nan)
        for model, bands in made.items():
            for customer_class in classes:
                chosen = series.classes == customer_class
                for h in range(horizon):
                    measured = score(actual[chosen, h], bands[chosen, h])
                    if measured["targets"]:
                        rows.append({"model": model, "horizon_days": h + 1,
                                     "customer_class": customer_class,
                                     "origin_day": series.days[origin].date(), **measured})
    return pd.DataFrame(rows)


def choose_models(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per class: each model's WAPE over the backtest, the best baseline, the model used and
    the model's improvement on the best baseline (share of its WAPE; negative = worse)."""
    if backtest.empty:
        return pd.DataFrame(columns=["customer_class", "best_baseline", "baseline_wape",
                                     "model_wape", "chosen", "improvement"])
    totals = backtest.groupby(["customer_class", "model"])[["abs_error_kwh", "actual_kwh"]].sum()
    wape = (totals["abs_error_kwh"] / totals["actual_kwh"]).unstack("model")
    rows = []
    for customer_class, row in wape.iterrows():
        best = row[list(BASELINES)].idxmin()
        model = row.get(MODEL, np.nan)
        improvement = (row[best] - model) / row[best] if np.isfinite(model) else None
        rows.append({"customer_class": customer_class, "best_baseline": best,
                     "baseline_wape": float(row[best]),
                     "model_wape": None if not np.isfinite(model) else float(model),
                     "chosen": MODEL if improvement is not None and improvement > 0 else best,
                     "improvement": improvement})
    return pd.DataFrame(rows)


def forecast(series: DailySeries, chosen: dict[str, str],
             horizon: int = HORIZON) -> tuple[pd.DataFrame, dict[str, str], np.ndarray]:
    """The served forecast from the last validated day: per customer the class's chosen model
    (like-day average where no backtest chose one), else the next model that has a value.
    Returns the rows, the customers left out with the reason, and the served bands
    (customers, horizon, 3; NaN for a customer left out)."""
    origin = series.last
    bands = forecasts_at(series, origin, horizon, with_model=MODEL in chosen.values())
    history = series.history_days()
    rows, left_out = [], {}
    served = np.full((len(series.customers), horizon, 3), np.nan)
    targets = [d.date() for d in series.days[origin + 1: origin + horizon + 1]]
    for c, customer in enumerate(series.customers):
        if history[c] < MIN_HISTORY_DAYS:
            left_out[customer] = (f"{history[c]} complete days of history; a forecast needs "
                                  f"{MIN_HISTORY_DAYS}")
            continue
        preferred = chosen.get(series.classes[c], "like_day_average")
        for model in (preferred, "like_day_average", "seasonal_naive"):
            if bands.get(model) is not None and np.isfinite(bands[model][c, :, 1]).all():
                break
        else:
            left_out[customer] = "no model has a value for every day of the horizon"
            continue
        served[c] = np.round(bands[model][c], 3)  # as written: monthly sums equal the rows
        for h, target in enumerate(targets):
            p10, p50, p90 = bands[model][c, h]
            rows.append({"customer_id": customer, "customer_class": series.classes[c],
                         "origin_day": series.days[origin].date(), "target_day": target,
                         "horizon_days": h + 1, "model": model, "p10_kwh": round(p10, 3),
                         "p50_kwh": round(p50, 3), "p90_kwh": round(p90, 3)})
    return pd.DataFrame(rows), left_out, served
