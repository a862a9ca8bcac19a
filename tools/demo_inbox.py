"""Demo inbox files chosen from the warehouse's master data (for `make demo` and the UI).

`write_demo_inbox(data_dir, warehouse)` writes, with real ids of the loaded master data:
- `inbox/terminations/demo_requests.csv`: two termination requests of the first two active
  contracts of non-residential customers, made at 10:00 on the last day with validated data;
- `inbox/payments/demo_payments.csv`: the payment results of both instructions: the first paid
  in full (the fee quoted exactly as the workflow will), the second failed at the bank;
- `inbox/curtailment/demo_plan.csv`: a planned, level II curtailment plan for the region with
  the most non-residential customers, one target row per non-residential industry there
  (target: 5 % of the industry's median contract capacity, at least 1 kW), window 10:00-12:00 on
  the last workday with validated data, published two days before at 09:00.

The choice depends on master data and validated intervals only (not on workflow state), so
writing again produces identical files, which the workflows skip. The returned `DemoInbox`
lists the evaluation times at which the curtailment stages fall due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

import duckdb

from assets.workflows.curtailment import is_workday, load_holidays
from assets.workflows.termination import (
    PAYMENT_COLUMNS,
    REQUEST_COLUMNS,
    instruction_id_for,
    load_contract,
    quote_fee,
)
from foundation.warehouse import connect, table_exists
from tools.sample_data.writer import write_csv

PLAN_HEADER = ["plan_id", "plan_type", "warning_level", "window_start", "window_end", "region",
               "industry", "customer_id", "target_kw", "published_at"]

CONTRACTS_SQL = """
select k.contract_id
from master.contracts k
join master.customers c on c.customer_id = k.customer_id and c.valid_to is null
where k.status = 'active' and c.customer_class <> 'residential' and k.end_month > ?
order by k.contract_id
limit 2
"""

REGION_SQL = """
select region, industry, contract_capacity_kva
from master.customers
where valid_to is null and customer_class <> 'residential'
  and region = (select region from master.customers
                where valid_to is null and customer_class <> 'residential'
                group by region order by count(*) desc, region limit 1)
order by industry
"""


@dataclass
class DemoInbox:
    """What was written, and when to evaluate the curtailment workflow to see each stage."""

    files: list[Path] = field(default_factory=list)
    paid_request: str | None = None
    failed_request: str | None = None
    contracts: list[str] = field(default_factory=list)
    plan_id: str | None = None
    region: str | None = None
    evaluation_times: dict[str, datetime] = field(default_factory=dict)


def _last_data_day(con: duckdb.DuckDBPyConnection) -> date:
    if table_exists(con, "core", "int_interval_validated"):
        day = con.execute("select max(reading_date) from core.int_interval_validated").fetchone()[0]
        if day is not None:
            return day
    return date.today() - timedelta(days=1)


def _terminations(con: duckdb.DuckDBPyConnection, inbox: Path, day: date, out: DemoInbox
                  ) -> None:
    requested_at = datetime.combine(day, time(10, 0))
    ids = [r[0] for r in con.execute(CONTRACTS_SQL, [f"{day:%Y-%m}"]).fetchall()]
    requests, payments = [], []
    for n, contract_id in enumerate(ids, start=1):
        request_id = f"DEMO-TR-{day:%Y%m%d}-{n:02d}"
        requests.append([request_id, contract_id, f"{requested_at:%Y-%m-%d %H:%M}",
                         "企业搬迁，申请提前解除零售合同", "客户经办人"])
        fee = quote_fee(con, load_contract(con, contract_id), requested_at).fee_yuan
        paid = n == 1
        paid_at = f"{requested_at + timedelta(days=1):%Y-%m-%d %H:%M}" if paid else ""
        payments.append([instruction_id_for(request_id), "success" if paid else "failure",
                         f"{fee:.2f}", paid_at, "" if paid else "收款账户状态异常，银行退票"])
        if paid:
            out.paid_request = request_id
        else:
            out.failed_request = request_id
    out.contracts = ids
    if requests:
        out.files.append(write_csv(inbox / "terminations" / "demo_requests.csv",
                                list(REQUEST_COLUMNS), requests))
        out.files.append(write_csv(inbox / "payments" / "demo_payments.csv",
                                list(PAYMENT_COLUMNS), payments))


def _curtailment(con: duckdb.DuckDBPyConnection, inbox: Path, day: date, out: DemoInbox
                 ) -> None:
    holidays = load_holidays(con)
    while not is_workday(day, holidays):
        day -= timedelta(days=1)
    rows = con.execute(REGION_SQL).fetchall()
    if not rows:
        return
    region = rows[0][0]
    capacities: dict[str, list[Decimal]] = {}
    for _, industry, kva in rows:
        capacities.setdefault(industry, []).append(Decimal(kva))
    start, end = datetime.combine(day, time(10)), datetime.combine(day, time(12))
    published = datetime.combine(day - timedelta(days=2), time(9))
    plan_id = f"DEMO-PLAN-{day:%Y%m%d}"
    fmt = "%Y-%m-%d %H:%M"
    plan_rows = [
        [plan_id, "planned", "II", f"{start:{fmt}}", f"{end:{fmt}}", region, industry, "",
         max(1, round(median(kvas) * Decimal("0.05"))), f"{published:{fmt}}"]
        for industry, kvas in sorted(capacities.items())
    ]
    out.files.append(write_csv(inbox / "curtailment" / "demo_plan.csv", PLAN_HEADER, plan_rows))
    out.plan_id, out.region = plan_id, region
    out.evaluation_times = {
        "notice": published + timedelta(minutes=1),
        "reminder": start - timedelta(hours=2),
        "all_clear": end,
        "results": end + timedelta(hours=1),
    }


def write_demo_inbox(data_dir: Path | str, warehouse: Path | str,
                     day: date | None = None) -> DemoInbox:
    """Write the demo inbox files under `<data_dir>/inbox` (see the module docstring), placed
    on `day` (default: the last day with validated data; `make demo` gives its billed month's
    last day, so that validating the days after it does not move the requests and the plan)."""
    inbox = Path(data_dir) / "inbox"
    out = DemoInbox()
    with connect(warehouse, read_only=True) as con:
        day = day or _last_data_day(con)
        _terminations(con, inbox, day, out)
        _curtailment(con, inbox, day, out)
    return out


__all__ = ["DemoInbox", "write_demo_inbox"]
