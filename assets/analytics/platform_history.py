"""The platform's own contracts as churn history, after the contract-history export.

The export (`master/contract_history.csv`) ends at its last month. The contracts the platform
settles (`master.contracts`) continue it, up to the last month the platform billed
(`finance.bills`): one spell per platform contract that starts after the customer's last
exported spell and by that month.

- outcome: `early_termination` when the termination workflow completed it
  (`workflow.contract_terminations`) and its last month (effective month − 1) is by the last
  billed month; otherwise, if it ended by then, `renewed` when the customer's next platform
  contract starts the month after, else `non_renewal`; otherwise `active` (censored).
- the customer's exported spell that was `active` at the export and ends the month before its
  first platform contract is `renewed` (it continued on the platform).
- covariates: deviation penalties are the platform's settled deviation lines
  (`finance.bill_lines`, `deviation%`, charges only) of the 12 months before the start; annual
  MWh is the billed kWh of the spell's months × 12 / months; the price gap, margin and on-time
  payment rate are the customer's last exported values (0, 0 and 1 for a customer new to the
  platform: nothing on record); `customer_since` is the export's, else the start month.

A platform contract overlapping an exported spell of its customer is left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import duckdb
import pandas as pd

from foundation.months import add_months, month_range
from foundation.warehouse import table_exists

SOURCE_EXPORT, SOURCE_PLATFORM = "export", "platform"
CARRIED = ("price_gap_yuan_per_mwh", "margin_yuan_per_mwh", "on_time_payment_rate")
NEW_CUSTOMER = {"price_gap_yuan_per_mwh": Decimal(0), "margin_yuan_per_mwh": Decimal(0),
                "on_time_payment_rate": Decimal(1)}
KWH_PER_MWH = Decimal(1000)


@dataclass
class PlatformHistory:
    """The history with the platform's spells appended, and what was left out and why."""

    rows: pd.DataFrame
    last_billed_month: str | None = None
    platform_spells: int = 0
    terminations: int = 0
    overlapping: list[str] = field(default_factory=list)


def _platform_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, ...] | None:
    """Contracts, completed terminations, billed kWh and deviation charges per customer-month;
    None until the platform has contracts and bills."""
    if not (table_exists(con, "master", "contracts") and table_exists(con, "finance", "bills")):
        return None
    contracts = con.execute(
        "select contract_id, customer_id, start_month, end_month from master.contracts"
        " order by customer_id, start_month, contract_id").df()
    terminations = (con.execute("select contract_id, effective_month"
                                " from workflow.contract_terminations").df()
                    if table_exists(con, "workflow", "contract_terminations")
                    else pd.DataFrame(columns=["contract_id", "effective_month"]))
    billed = con.execute("select customer_id, period, cast(sum(billed_kwh) as varchar) as kwh"
                         " from finance.bills group by all").df()
    penalties = con.execute(
        "select customer_id, period, cast(sum(amount_yuan) as varchar) as yuan"
        " from finance.bill_lines where line_code like 'deviation%' and amount_yuan > 0"
        " group by all").df() if table_exists(con, "finance", "bill_lines") else \
        pd.DataFrame(columns=["customer_id", "period", "yuan"])
    return contracts, terminations, billed, penalties


def with_platform_spells(con: duckdb.DuckDBPyConnection,
                         history: pd.DataFrame) -> PlatformHistory:
    """`history` (the export's checked rows) with `source` and the platform's spells."""
    exported = history.assign(source=SOURCE_EXPORT)
    inputs = _platform_inputs(con)
    if inputs is None:
        return PlatformHistory(exported)
    contracts, terminations, billed, penalties = inputs
    if billed.empty:
        return PlatformHistory(exported)
    last = str(billed["period"].max())
    ended = dict(zip(terminations["contract_id"], terminations["effective_month"], strict=True))
    kwh = {(c, p): Decimal(v) for c, p, v in billed.itertuples(index=False)}
    charged = {(c, p): Decimal(v) for c, p, v in penalties.itertuples(index=False)}
    latest = exported.sort_values("end_month").groupby("customer_id").tail(1).set_index(
        "customer_id")
    result = PlatformHistory(exported, last)
    spells, renewed = [], set()
    for c in contracts.itertuples(index=False):
        before = latest.loc[c.customer_id] if c.customer_id in latest.index else None
        if c.start_month > last:
            continue
        if before is not None and c.start_month <= before["end_month"]:
            result.overlapping.append(c.contract_id)
            continue
        end, outcome = _end_and_outcome(c, contracts, ended.get(c.contract_id), last)
        if end < c.start_month:
            continue
        result.terminations += outcome == "early_termination"
        months = month_range(c.start_month, end)
        carried = ({k: before[k] for k in CARRIED} if before is not None else NEW_CUSTOMER)
        spell_kwh = sum((kwh.get((c.customer_id, m), Decimal(0)) for m in months), Decimal(0))
        spells.append({
            "contract_id": c.contract_id, "customer_id": c.customer_id,
            "customer_since": before["customer_since"] if before is not None else c.start_month,
            "start_month": c.start_month, "end_month": end, "outcome": outcome, **carried,
            "deviation_penalties_12m_yuan": sum(
                (charged.get((c.customer_id, add_months(c.start_month, -k)), Decimal(0))
                 for k in range(1, 13)), Decimal(0)),
            "annual_mwh": (spell_kwh * 12 / len(months) / KWH_PER_MWH).quantize(
                Decimal("0.001")),
            "source": SOURCE_PLATFORM})
        if (before is not None and before["outcome"] == "active"
                and add_months(before["end_month"], 1) == c.start_month):
            renewed.add(before["contract_id"])
    rows = exported.copy()
    rows.loc[rows["contract_id"].isin(renewed), "outcome"] = "renewed"
    if spells:
        rows = pd.concat([rows, pd.DataFrame(spells)[list(rows.columns)]], ignore_index=True)
    result.rows, result.platform_spells = rows, len(spells)
    return result


def _end_and_outcome(contract, contracts: pd.DataFrame, effective: str | None,
                     last: str) -> tuple[str, str]:
    """The spell's last month (by `last`) and its outcome."""
    if effective is not None and add_months(effective, -1) <= last:
        return min(add_months(effective, -1), contract.end_month), "early_termination"
    if contract.end_month <= last:
        follows = contracts[(contracts["customer_id"] == contract.customer_id)
                            & (contracts["start_month"] == add_months(contract.end_month, 1))]
        return contract.end_month, "renewed" if len(follows) else "non_renewal"
    return last, "active"
