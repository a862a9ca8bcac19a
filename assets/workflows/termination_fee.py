"""The early-termination fee (domain.md §6 proposal, made precise).

- the termination takes effect from the first month after the request month (`effective_month`);
- remaining months = max(effective_month, start_month) .. end_month of the contract;
- Q̂_m = the contracted volume of month m (`master.contract_volumes`), else the validated kWh
  of the same month one year earlier (`core.int_interval_validated`, channel kwh_imp), else 0;
- fee = min(termination_cap_yuan, Σ Q̂_m / 1000 × termination_rate_yuan_per_mwh), computed in
  Decimal and rounded half-up to 0.01 yuan (a NULL cap means no cap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import duckdb

from foundation.months import add_months, month_of, month_range
from foundation.warehouse import table_exists

CENT = Decimal("0.01")
KWH_PER_MWH = Decimal(1000)


def effective_month(requested_at: datetime | date) -> str:
    """The first month after the request month: a termination takes effect monthly."""
    return add_months(month_of(requested_at), 1)


@dataclass(frozen=True)
class Contract:
    """The contract fields the workflow needs (from master.contracts and master.customers)."""

    contract_id: str
    customer_id: str
    customer_name: str
    retailer_id: str
    start_month: str
    end_month: str
    rate_yuan_per_mwh: Decimal
    cap_yuan: Decimal | None
    status: str


@dataclass(frozen=True)
class FeeLine:
    """Estimated volume of one remaining month and where it came from."""

    period: str
    source: str  # contract | last_year | none
    kwh: Decimal


@dataclass(frozen=True)
class FeeQuote:
    """The early-termination fee of a contract for a request time."""

    effective_month: str
    lines: tuple[FeeLine, ...]
    estimated_kwh: Decimal
    uncapped_yuan: Decimal
    fee_yuan: Decimal


CONTRACT_SQL = """
select k.contract_id, k.customer_id, coalesce(c.customer_name, k.customer_id), k.retailer_id,
       k.start_month, k.end_month, k.termination_rate_yuan_per_mwh, k.termination_cap_yuan,
       k.status
from master.contracts k
left join master.customers c on c.customer_id = k.customer_id and c.valid_to is null
where k.contract_id = ?
"""


def load_contract(con: duckdb.DuckDBPyConnection, contract_id: str) -> Contract | None:
    """The contract, or None if master data does not know it."""
    row = con.execute(CONTRACT_SQL, [contract_id]).fetchone()
    if row is None:
        return None
    return Contract(*row[:6], Decimal(row[6]), None if row[7] is None else Decimal(row[7]),
                    row[8])


def last_year_kwh(
    con: duckdb.DuckDBPyConnection, customer_id: str, months: list[str]
) -> dict[str, Decimal]:
    """Validated kWh of the customer in the same months one year earlier (months with data)."""
    if not months or not table_exists(con, "core", "int_interval_validated"):
        return {}
    previous = {add_months(m, -12): m for m in months}
    rows = con.execute(
        """select strftime(reading_date, '%Y-%m') as period, sum(value)
           from core.int_interval_validated
           where customer_id = ? and channel = 'kwh_imp' and value is not null
             and list_contains(?::varchar[], strftime(reading_date, '%Y-%m'))
           group by period""",
        [customer_id, list(previous)],
    ).fetchall()
    return {previous[p]: Decimal(v) for p, v in rows if v is not None}


def quote_fee(
    con: duckdb.DuckDBPyConnection, contract: Contract, requested_at: datetime
) -> FeeQuote:
    """The fee for terminating `contract` on a request made at `requested_at`."""
    effective = effective_month(requested_at)
    months = month_range(max(effective, contract.start_month), contract.end_month)
    volumes = dict(con.execute(
        "select period, contracted_kwh from master.contract_volumes"
        " where contract_id = ? and list_contains(?::varchar[], period)",
        [contract.contract_id, months],
    ).fetchall())
    history = last_year_kwh(con, contract.customer_id, [m for m in months if m not in volumes])
    lines = []
    for month in months:
        if volumes.get(month) is not None:
            lines.append(FeeLine(month, "contract", Decimal(volumes[month])))
        elif month in history:
            lines.append(FeeLine(month, "last_year", history[month]))
        else:
            lines.append(FeeLine(month, "none", Decimal(0)))
    estimated = sum((line.kwh for line in lines), Decimal(0))
    uncapped = (estimated / KWH_PER_MWH * contract.rate_yuan_per_mwh).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    fee = uncapped if contract.cap_yuan is None else min(uncapped, contract.cap_yuan)
    return FeeQuote(effective, tuple(lines), estimated, uncapped, fee.quantize(CENT))


__all__ = [
    "Contract", "FeeLine", "FeeQuote", "effective_month", "last_year_kwh", "load_contract",
    "quote_fee",
]
