"""Retail contracts and their monthly contracted volumes.

Volumes are the noise-free expected consumption x a customer factor drawn from three bands so
that deviation tiers (within +-3 %, 3-10 %, above 10 %) all occur.
"""

from __future__ import annotations

import math

import numpy as np

from foundation.months import month_key, parse_month, shift

from .calendar import day_types, span_days
from .master import Customer, Fleet
from .profiles import expected_daily_kwh

FACTOR_BANDS = ((0.0, 0.015), (0.045, 0.08), (0.12, 0.15))  # |factor - 1| per band


def monthly_expected_kwh(fleet: Fleet, shapes: np.ndarray, start: str, months: int,
                         holidays: dict) -> np.ndarray:
    """[month offset, meter] noise-free consumption in kWh."""
    days = span_days(start, months)
    types = day_types(days, holidays)
    year, month = parse_month(start)
    counts = np.zeros((months, 3), dtype=np.int64)
    for day, kind in zip(days, types, strict=True):
        counts[(day.year - year) * 12 + day.month - month, kind] += 1
    sums = shapes.sum(axis=2)
    out = np.zeros((months, len(fleet)))
    for offset in range(months):
        month_of_year = shift(year, month, offset)[1]
        for kind in range(3):
            daily = expected_daily_kwh(fleet, sums, month_of_year, kind)
            out[offset] += counts[offset, kind] * daily
    return out


def build_contracts(rng: np.random.Generator, customers: list[Customer], fleet: Fleet,
                    shapes: np.ndarray, start: str, months: int, holidays: dict,
                    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """One active contract per customer from `start`, ending >= 6 months after the data."""
    base_years = math.ceil((months + 6) / 12)
    years = [base_years + int(rng.random() < 0.3) for _ in customers]
    expected = monthly_expected_kwh(fleet, shapes, start, 12 * max(years), holidays)
    per_customer = np.zeros((expected.shape[0], len(customers)))
    np.add.at(per_customer.T, fleet.customer_index, expected.T)
    order = rng.permutation(len(customers))
    factor = np.empty(len(customers))
    for pos, ci in enumerate(order):
        low, high = FACTOR_BANDS[pos % 3]
        factor[ci] = 1 + rng.choice((-1, 1)) * rng.uniform(low, high)
    strict = rng.random(len(customers)) < 0.08
    if len(customers) >= 12 and not strict.any():
        strict[int(rng.integers(len(customers)))] = True
    year, month = parse_month(start)
    contracts, volumes = [], []
    for ci, c in enumerate(customers):
        contract_id = f"CON{ci + 1:06d}"
        n_months = 12 * years[ci]
        contracts.append({
            "contract_id": contract_id, "customer_id": c.customer_id,
            "retailer_id": c.retailer_id, "package_id": c.package_id, "start_month": start,
            "end_month": month_key(*shift(year, month, n_months - 1)),
            "deviation_clause_id": "DEV_STRICT" if strict[ci] else "DEV_DEFAULT",
            "termination_rate_yuan_per_mwh": 20, "termination_cap_yuan": 50000, "status": "active",
        })
        for k in range(n_months):
            volumes.append({"contract_id": contract_id,
                            "period": month_key(*shift(year, month, k)),
                            "contracted_kwh": int(round(per_customer[k, ci] * factor[ci]))})
    return contracts, volumes


def presigned_contracts(contracts: list[dict[str, object]], volumes: list[dict[str, object]],
                        retailers: list[str], count: int,
                        ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Sample pre-signed contracts (issue 10, trading capacity): for the first `count`
    customers, a 12-month contract from the month after their current one ends, status
    `pre_signed`, with the current contract's volumes of the same calendar months; every second
    one switches to the next retailer of `retailers` (a customer won from a competitor)."""
    rows, extra = [], []
    for n, current in enumerate(contracts[:count], start=1):
        year, month = parse_month(str(current["end_month"]))
        start = shift(year, month, 1)
        retailer = str(current["retailer_id"])
        if n % 2 == 0 and len(retailers) > 1:
            retailer = retailers[(retailers.index(retailer) + 1) % len(retailers)]
        contract_id = f"CONP{n:05d}"
        rows.append({**current, "contract_id": contract_id, "retailer_id": retailer,
                     "start_month": month_key(*start),
                     "end_month": month_key(*shift(*start, 11)), "status": "pre_signed"})
        same_month = {str(v["period"])[5:]: v["contracted_kwh"] for v in volumes
                      if v["contract_id"] == current["contract_id"]}
        for k in range(12):
            period = month_key(*shift(*start, k))
            extra.append({"contract_id": contract_id, "period": period,
                          "contracted_kwh": same_month.get(period[5:], 0)})
    return rows, extra
