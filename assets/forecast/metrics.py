"""Forecast error measures of the backtest (docs/forecasting.md): each takes the actual kWh and
the forecast quantiles of the same targets (NaN actuals are left out by the caller)."""

from __future__ import annotations

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def mape(actual: np.ndarray, p50: np.ndarray) -> float | None:
    """Mean |error| / actual over the targets with a non-zero actual; None when there is none."""
    used = actual != 0
    if not used.any():
        return None
    return float(np.mean(np.abs(p50[used] - actual[used]) / np.abs(actual[used])))


def wape(actual: np.ndarray, p50: np.ndarray) -> float | None:
    """Σ|error| / Σ|actual| (weighted: large customers count by their kWh); None when Σ = 0."""
    total = np.abs(actual).sum()
    return None if total == 0 else float(np.abs(p50 - actual).sum() / total)


def bias(actual: np.ndarray, p50: np.ndarray) -> float | None:
    """Σ(forecast − actual) / Σ|actual|: positive = the forecast is too high."""
    total = np.abs(actual).sum()
    return None if total == 0 else float((p50 - actual).sum() / total)


def pinball(actual: np.ndarray, bands: np.ndarray) -> float:
    """Mean pinball (quantile) loss in kWh over P10, P50 and P90; `bands` is (n, 3)."""
    losses = [np.maximum(q * (actual - bands[:, i]), (q - 1) * (actual - bands[:, i])).mean()
              for i, q in enumerate(QUANTILES)]
    return float(np.mean(losses))


def coverage(actual: np.ndarray, bands: np.ndarray) -> float:
    """Share of actuals within [P10, P90] (0.8 for a calibrated band)."""
    return float(((actual >= bands[:, 0]) & (actual <= bands[:, 2])).mean())
