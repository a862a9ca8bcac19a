"""Documented ranges of workflow money, power and dates (docs/data_contracts.md, "Inbox").

Inbox rows outside these ranges are rejected with the reason; the termination fee is checked
again right before its payment instruction is issued. Every limit can be set through the
environment (read when a workflow runs):

- termination fee, per instruction: 0 .. 10,000,000.00 yuan
  (`GRIDLEDGER_MAX_TERMINATION_FEE_YUAN`), and never above the contract's cap;
- payment result `amount_yuan`: 0 .. 10,000,000.00 yuan (`GRIDLEDGER_MAX_PAYMENT_YUAN`);
- curtailment `target_kw`: 0 .. 1,000,000.000 kW (`GRIDLEDGER_MAX_TARGET_KW`);
- inbox times (requested_at, paid_at, window_start/end, published_at): from 1827 days before
  to 366 days after the run's clock (`GRIDLEDGER_INBOX_PAST_DAYS`, `..._FUTURE_DAYS`);
- a contract to terminate ends at most 120 months after the effective month
  (`GRIDLEDGER_MAX_CONTRACT_MONTHS`);
- a curtailment window lasts at most 7 days (`GRIDLEDGER_MAX_WINDOW_DAYS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

ENV = {
    "max_fee_yuan": "GRIDLEDGER_MAX_TERMINATION_FEE_YUAN",
    "max_payment_yuan": "GRIDLEDGER_MAX_PAYMENT_YUAN",
    "max_target_kw": "GRIDLEDGER_MAX_TARGET_KW",
    "past_days": "GRIDLEDGER_INBOX_PAST_DAYS",
    "future_days": "GRIDLEDGER_INBOX_FUTURE_DAYS",
    "max_contract_months": "GRIDLEDGER_MAX_CONTRACT_MONTHS",
    "max_window_days": "GRIDLEDGER_MAX_WINDOW_DAYS",
}


@dataclass(frozen=True)
class WorkflowLimits:
    """The configured ranges (defaults above)."""

    max_fee_yuan: Decimal = Decimal("10000000.00")
    max_payment_yuan: Decimal = Decimal("10000000.00")
    max_target_kw: Decimal = Decimal("1000000.000")
    past_days: int = 1827
    future_days: int = 366
    max_contract_months: int = 120
    max_window_days: int = 7

    def horizon(self, now: datetime) -> tuple[datetime, datetime]:
        """[earliest, latest] inbox time accepted at `now`."""
        return now - timedelta(days=self.past_days), now + timedelta(days=self.future_days)


def workflow_limits() -> WorkflowLimits:
    """The defaults, overridden by the `GRIDLEDGER_*` variables that are set."""
    values = {}
    for f in fields(WorkflowLimits):
        raw = os.environ.get(ENV[f.name])
        if raw:
            values[f.name] = Decimal(raw) if f.type in ("Decimal", Decimal) else int(raw)
    return WorkflowLimits(**values)


__all__ = ["ENV", "WorkflowLimits", "workflow_limits"]
