"""Churn risk by Cox proportional hazards (domain.md §9, seed CN118537021A).

A spell is one contract: duration = months in force, event = it ended in churn (non-renewal,
switch, early termination); renewed and active contracts are censored. Covariates are fixed
at signing: complaint tickets in the 12 months before, price gap to the agency price (元/MWh),
tenure (years since `customer_since`), deviation penalties paid in the 12 months before (万元)
and the credit shortfall: (100 − credit score) / 10 of the customer's credit rating as at the
end of the month before the start (credit.py, seed 001); 0 when not graded (no bill due in those
12 months, a new customer: nothing on record against it).
P(churn within the horizon | in force t months) = 1 − (S0(t + h) / S0(t))^exp(lp).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import concordance_index

from foundation.months import add_months, parse_month

from .inputs import CHURN_OUTCOMES

FEATURES = ("complaints_12m", "price_gap_yuan_per_mwh", "tenure_years", "penalties_10k_yuan",
            "credit_shortfall_10pts")
HORIZON_MONTHS = 3  # 90 days
HELD_OUT_SHARE = 0.25
# events per covariate: below 8 × 5 events the fit is refused (Cox fits stay unbiased with 5-9
# events per variable in most cases: Vittinghoff & McCulloch, Am J Epidemiol 2007; 165:710-8)
MIN_EVENTS = 8
FULL_CREDIT = Decimal(100)


def linear_predictor(beta: dict[str, float], x: dict[str, float]) -> float:
    """βᵀx over the covariates of `beta`."""
    return sum(beta[k] * x[k] for k in beta)


def churn_probability(lp: float, baseline_survival: float) -> float:
    """1 − S0^exp(lp): domain.md §9 (lp 1.2, S0 0.95 → 0.157)."""
    return 1 - baseline_survival ** math.exp(lp)


def month_index(month: str) -> int:
    year, mon = parse_month(month)
    return 12 * year + mon - 1


def build_spells(history: pd.DataFrame, tickets: pd.DataFrame,
                 credit_scores: pd.Series) -> pd.DataFrame:
    """One row per contract: customer, start, duration_months, event and the covariates.
    `credit_scores`: the credit score at signing per contract_id (credit.scores_at_signing),
    None when not graded."""
    spells = history[["contract_id", "customer_id", "customer_since", "start_month",
                      "end_month", "outcome"]].copy()
    start = spells["start_month"].map(month_index)
    spells["duration_months"] = spells["end_month"].map(month_index) - start + 1
    spells["event"] = spells["outcome"].isin(CHURN_OUTCOMES).astype(int)
    spells["tenure_years"] = (start - spells["customer_since"].map(month_index)) / 12
    spells["price_gap_yuan_per_mwh"] = history["price_gap_yuan_per_mwh"].astype(float)
    spells["penalties_10k_yuan"] = history["deviation_penalties_12m_yuan"].astype(float) / 1e4
    spells["complaints_12m"] = _complaints_before(spells, tickets)
    scores = credit_scores.to_dict()
    spells["credit_shortfall_10pts"] = [
        0.0 if scores.get(k) is None else float((FULL_CREDIT - scores[k]) / 10)
        for k in spells["contract_id"]]
    return spells


def _complaints_before(spells: pd.DataFrame, tickets: pd.DataFrame) -> np.ndarray:
    """Complaint tickets opened in the 12 months before each spell's first day."""
    complaints = tickets[tickets["category"] == "complaint"][["customer_id", "opened_on"]]
    pairs = spells[["contract_id", "customer_id", "start_month"]].merge(complaints,
                                                                        on="customer_id")
    first = pd.to_datetime(pairs["start_month"] + "-01")
    since = pd.to_datetime(pairs["start_month"].map(lambda m: add_months(m, -12)) + "-01")
    opened = pd.to_datetime(pairs["opened_on"])
    counts = pairs[(opened >= since) & (opened < first)].groupby("contract_id").size()
    return spells["contract_id"].map(counts).fillna(0).astype(int).to_numpy()


@dataclass
class ChurnModel:
    """The Cox fit on every spell, and how it was checked."""

    fitter: CoxPHFitter
    held_out_concordance: float
    held_out_spells: int
    ph_p_values: dict[str, float]

    def coefficients(self) -> pd.DataFrame:
        """coef, 95 % interval and p per covariate (robust, clustered by customer)."""
        s = self.fitter.summary
        return s[["coef", "coef lower 95%", "coef upper 95%", "p"]].rename(columns={
            "coef lower 95%": "lower_95", "coef upper 95%": "upper_95"})

    def baseline_survival(self, months: np.ndarray) -> np.ndarray:
        """S0(t) at covariate means, a step function of months in force (1 before any event)."""
        s0 = self.fitter.baseline_survival_.iloc[:, 0]
        pos = np.searchsorted(s0.index.to_numpy(), months, side="right") - 1
        return np.where(pos >= 0, s0.to_numpy()[np.maximum(pos, 0)], 1.0)


def _fitter(frame: pd.DataFrame) -> CoxPHFitter:
    fitter = CoxPHFitter()
    fitter.fit(frame[[*FEATURES, "duration_months", "event", "customer_id"]],
               duration_col="duration_months", event_col="event", cluster_col="customer_id")
    return fitter


def fit_churn_model(spells: pd.DataFrame, seed: int = 0) -> ChurnModel:
    """Held-out concordance from a fit on 75 % of customers; then the fit on all spells."""
    events = int(spells["event"].sum())
    if events < MIN_EVENTS * len(FEATURES):
        raise ValueError(f"{events} churn events in {len(spells)} contracts: the Cox model "
                         f"needs at least {MIN_EVENTS * len(FEATURES)}")
    customers = np.sort(spells["customer_id"].unique())
    held_out = set(np.random.default_rng(seed).permutation(customers)[
        : int(len(customers) * HELD_OUT_SHARE)])
    test_rows = spells["customer_id"].isin(held_out)
    train_fit = _fitter(spells[~test_rows])
    test = spells[test_rows]
    c_index = concordance_index(test["duration_months"],
                                -train_fit.predict_partial_hazard(test[list(FEATURES)]),
                                test["event"])
    fitter = _fitter(spells)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(fitter, spells[[*FEATURES, "duration_months", "event",
                                                       "customer_id"]],
                                      time_transform="rank")
    return ChurnModel(fitter, float(c_index), int(test_rows.sum()),
                      {str(k): float(v) for k, v in ph.summary["p"].items()})


def score_months(model: ChurnModel, spells: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """P(churn within HORIZON_MONTHS) for each contract in force at the end of each month."""
    spells = spells.reset_index(drop=True)
    first_seen = spells.groupby("customer_id")["start_month"].min().map(month_index)
    lp = pd.Series(np.asarray(model.fitter.predict_log_partial_hazard(spells[list(FEATURES)])),
                   index=spells.index)
    frames = []
    start = spells["start_month"].map(month_index)
    end = spells["end_month"].map(month_index)
    for month in months:
        m = month_index(month)
        # in force at the end of the month and not ended by churn in it
        alive = (start <= m) & ((end > m) | ((end == m) & (spells["event"] == 0)))
        rows = spells[alive]
        t = (m - start[alive] + 1).to_numpy()
        ratio = model.baseline_survival(t + HORIZON_MONTHS) / model.baseline_survival(t)
        hr = np.exp(lp[alive].to_numpy())
        frames.append(pd.DataFrame({
            "month": month, "customer_id": rows["customer_id"].to_numpy(),
            "contract_id": rows["contract_id"].to_numpy(), "months_in_force": t,
            "history_months": m - rows["customer_id"].map(first_seen).to_numpy() + 1,
            **{f: rows[f].to_numpy() for f in FEATURES},
            "linear_predictor": lp[alive].to_numpy(), "hazard_ratio": hr,
            "baseline_survival_ratio": ratio,
            "churn_probability_90d": 1 - ratio ** hr,
        }))
    return pd.concat(frames, ignore_index=True)
