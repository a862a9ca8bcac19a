"""Multi-year contract histories and service tickets driven by a KNOWN churn hazard.

Each contract (12, 24 or 36 months) is a spell: `h(t | x) = h0(t)·exp(βᵀx)` with a Weibull
baseline (t = months since the contract started) and covariates fixed at signing: complaint
tickets in the 12 months before the start, the package price gap to the agency price (元/MWh),
the customer's tenure (years since `customer_since`) and the deviation penalties paid in the 12
months before the start (万元). A churn time inside the contract ends it (last month:
non-renewal; before: a switch to another retailer or an early termination); past it, the
contract is renewed and a new spell starts with its own covariates. Spells still running at
the end of the window are `active` (censored). The true β goes to
`ground_truth/churn_coefficients.csv`, as the VEE faults go to `faults.csv`. Monthly bills and
their payments (`master/payments.csv`, payments.py) follow each customer's latent payment
discipline, drawn after every contract so the contracts and tickets do not depend on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from foundation.months import add_months

from .payments import PAYMENT_COLUMNS, simulate_payments
from .writer import write_rows_csv

# covariate -> true coefficient (per unit of the covariate, as the churn model reads it)
TRUE_COEFFICIENTS = {
    "complaints_12m": 0.8,          # per complaint ticket in the 12 months before signing
    "price_gap_yuan_per_mwh": 0.05,  # per 元/MWh above the agency price
    "tenure_years": -0.3,           # per year as a customer at signing
    "penalties_10k_yuan": 0.2,      # per 万元 of deviation penalties paid in the 12 months before
    # per 10 credit points short of 100 at signing: 0, payment discipline is drawn apart from
    # the hazard (the model must find no effect beyond the complaints and penalties above)
    "credit_shortfall_10pts": 0.0,
}
WEIBULL_SCALE_MONTHS, WEIBULL_SHAPE = 60.0, 1.3
CONTRACT_MONTHS = (12, 24, 36)
HISTORY_COLUMNS = ("contract_id", "customer_id", "customer_since", "start_month", "end_month",
                   "outcome", "price_gap_yuan_per_mwh", "deviation_penalties_12m_yuan",
                   "annual_mwh", "margin_yuan_per_mwh", "on_time_payment_rate")
TICKET_COLUMNS = ("ticket_id", "customer_id", "opened_on", "category", "subject")
COEFFICIENT_COLUMNS = ("covariate", "coefficient", "unit")
UNITS = {"complaints_12m": "tickets", "price_gap_yuan_per_mwh": "元/MWh",
         "tenure_years": "years", "penalties_10k_yuan": "万元",
         "credit_shortfall_10pts": "10 credit points"}


@dataclass
class History:
    """Rows of `master/contract_history.csv`, `master/service_tickets.csv` and
    `master/payments.csv`, and each customer's latent on-time payment probability."""

    contracts: list[dict[str, object]] = field(default_factory=list)
    tickets: list[dict[str, object]] = field(default_factory=list)
    payments: list[dict[str, object]] = field(default_factory=list)
    discipline: dict[str, float] = field(default_factory=dict)


def _tickets_before(rng: np.random.Generator, history: History, customer_id: str,
                    start_month: str, complaints: int) -> None:
    """`complaints` complaint tickets (plus a few service requests) in the 12 months before."""
    first = date.fromisoformat(f"{add_months(start_month, -12)}-01")
    kinds = ["complaint"] * complaints + ["service"] * int(rng.poisson(0.7))
    for kind in kinds:
        opened = first + timedelta(days=int(rng.integers(0, 365)))
        history.tickets.append({
            "ticket_id": f"TK{len(history.tickets) + 1:07d}", "customer_id": customer_id,
            "opened_on": opened.isoformat(), "category": kind,
            "subject": "bill dispute" if kind == "complaint" else "meter question"})


def _customer(rng: np.random.Generator, history: History, customer_id: str, window_start: str,
              window_months: int, joined: int) -> bool:
    """Simulate one customer's spells from month offset `joined`; True when still active."""
    prior_months = int(rng.integers(0, 72)) if joined == 0 else 0
    since = add_months(window_start, joined - prior_months)
    complaint_rate = rng.gamma(1.0, 0.5)
    gap_mean, margin = rng.normal(0, 8), rng.uniform(5, 35)
    annual_mwh = float(np.exp(rng.normal(7.0, 0.8)))
    on_time = rng.uniform(0.8, 1.0)
    history.discipline[customer_id] = on_time
    offset = joined
    while True:
        start = add_months(window_start, offset)
        x = {"complaints_12m": int(rng.poisson(complaint_rate)),
             "price_gap_yuan_per_mwh": round(float(rng.normal(gap_mean, 5)), 1),
             "tenure_years": (prior_months + offset - joined) / 12,
             "penalties_10k_yuan": round(float(rng.exponential(1.0)), 2)}
        lp = sum(TRUE_COEFFICIENTS[k] * v for k, v in x.items())
        churn_at = WEIBULL_SCALE_MONTHS * (rng.exponential() / math.exp(lp)) ** (1 / WEIBULL_SHAPE)
        length = int(rng.choice(CONTRACT_MONTHS))
        months = min(math.ceil(churn_at), length)
        left = window_months - offset
        if months > left:
            outcome, months = "active", left
        elif churn_at > length:
            outcome = "renewed"
        elif months == length:
            outcome = "non_renewal"
        else:
            outcome = "switched" if rng.random() < 0.5 else "early_termination"
        _tickets_before(rng, history, customer_id, start, x["complaints_12m"])
        history.contracts.append({
            "contract_id": f"HC{len(history.contracts) + 1:07d}", "customer_id": customer_id,
            "customer_since": since, "start_month": start,
            "end_month": add_months(start, months - 1), "outcome": outcome,
            "price_gap_yuan_per_mwh": x["price_gap_yuan_per_mwh"],
            "deviation_penalties_12m_yuan": f"{x['penalties_10k_yuan'] * 10000:.2f}",
            "annual_mwh": f"{annual_mwh * rng.uniform(0.9, 1.1):.3f}",
            "margin_yuan_per_mwh": f"{margin + rng.normal(0, 2):.2f}",
            "on_time_payment_rate": f"{min(1.0, on_time + rng.normal(0, 0.02)):.3f}"})
        offset += months
        if outcome != "renewed" or offset >= window_months:
            return outcome in ("active", "renewed")


def simulate_history(rng: np.random.Generator, active_ids: list[str], years: int,
                     end_month: str) -> History:
    """Histories over `years` up to `end_month` until every id in `active_ids` is active.

    Customers join at random months (a quarter were customers before the window); one who
    churns gets a former-customer id `FC…`, one still active at the end the next active id.
    Stopping when enough customers are active does not bias the partial likelihood.
    """
    if years < 1 or not active_ids:
        raise ValueError("history needs years >= 1 and at least one active customer")
    window_months = 12 * years
    window_start = add_months(end_month, 1 - window_months)
    history, assigned, former = History(), 0, 0
    while assigned < len(active_ids):
        joined = 0 if rng.random() < 0.25 else int(rng.integers(0, window_months))
        marker = len(history.contracts), len(history.tickets)
        placeholder = f"TMP{marker[0]}"
        if _customer(rng, history, placeholder, window_start, window_months, joined):
            customer_id, assigned = active_ids[assigned], assigned + 1
        else:
            former += 1
            customer_id = f"FC{former:06d}"
        for row in history.contracts[marker[0]:] + history.tickets[marker[1]:]:
            row["customer_id"] = customer_id
        history.discipline[customer_id] = history.discipline.pop(placeholder)
    history.payments = simulate_payments(rng, history.contracts, history.discipline, end_month)
    return history


def write_history(data_dir: Path, history: History) -> list[str]:
    """Write the three inputs and the true coefficients; return the relative paths written."""
    data_dir = Path(data_dir)
    (data_dir / "master").mkdir(parents=True, exist_ok=True)
    (data_dir / "ground_truth").mkdir(parents=True, exist_ok=True)
    write_rows_csv(data_dir / "master" / "contract_history.csv", HISTORY_COLUMNS,
                   history.contracts)
    write_rows_csv(data_dir / "master" / "service_tickets.csv", TICKET_COLUMNS, history.tickets)
    write_rows_csv(data_dir / "master" / "payments.csv", PAYMENT_COLUMNS, history.payments)
    write_rows_csv(data_dir / "ground_truth" / "churn_coefficients.csv", COEFFICIENT_COLUMNS,
                   [{"covariate": k, "coefficient": v, "unit": UNITS[k]}
                    for k, v in TRUE_COEFFICIENTS.items()])
    return ["master/contract_history.csv", "master/service_tickets.csv", "master/payments.csv",
            "ground_truth/churn_coefficients.csv"]
