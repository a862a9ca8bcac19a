"""From scores to tables: bands, value grades and the band × grade measure per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import pick
from .value import grade_by_rank, value_scores

SHORT_HISTORY_MONTHS = 3


def band_rows(risk: pd.DataFrame, bands: list) -> pd.DataFrame:
    """Add the risk band and a caveat for customers with under three months of history."""
    risk = risk.copy()
    risk["risk_band"] = [pick(bands, p) for p in risk["churn_probability_90d"]]
    risk["caveat"] = np.where(risk["history_months"] < SHORT_HISTORY_MONTHS,
                              "short_history: " + risk["history_months"].astype(str)
                              + " month(s) of contract history; covariates from that alone",
                              None)
    return risk


def customer_value(current: pd.DataFrame, month: str, indicators: dict[str, bool],
                   grades: list) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Score and grade the customers of `current` (one row each, indicator columns);
    return the table and each indicator's CV and weight."""
    names = list(indicators)
    matrix = current[names].astype(float).to_numpy()
    result = value_scores(matrix, [indicators[n] for n in names])
    table = current[["customer_id", *names]].copy()
    table.insert(0, "month", month)
    table["value_score"] = result.scores.round(1)
    table["value_grade"] = grade_by_rank(result.scores, grades)
    weights = {n: {"cv": round(float(result.cv[j]), 4), "weight": round(float(result.weights[j]),
                                                                          4)}
               for j, n in enumerate(names)}
    return table, weights


def customer_measures(risk: pd.DataFrame, value: pd.DataFrame,
                      measures: dict[tuple[str, str], tuple[str, str]],
                      credit: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer scored for churn in the value month: band × grade → measure.
    A customer without a grade (or a pair without a config row) keeps its row with a reason.
    With `credit` (analytics.credit_rating), that month's credit score and grade are added
    beside (reported, not part of the measure)."""
    month = value["month"].iloc[0] if len(value) else None
    latest = risk[risk["month"] == month][["customer_id", "churn_probability_90d", "risk_band"]]
    table = latest.merge(value[["customer_id", "value_score", "value_grade"]],
                         on="customer_id", how="left")
    table.insert(0, "month", month)
    found = [measures.get((b, g)) for b, g in zip(table["risk_band"], table["value_grade"],
                                                   strict=True)]
    table["measure_code"] = [f[0] if f else None for f in found]
    table["measure"] = [f[1] if f else None for f in found]
    table["reason"] = [None if f else ("no value grade" if pd.isna(g) else
                                       f"no customer_measures row for {b} × {g}")
                       for f, b, g in zip(found, table["risk_band"], table["value_grade"],
                                          strict=True)]
    if credit is not None:
        table = table.merge(credit[credit["month"] == month][
            ["customer_id", "credit_score", "credit_grade"]], on="customer_id", how="left")
    return table
