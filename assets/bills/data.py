"""Everything a bill document shows, read from the warehouse in a few set-based queries.

`load_bills(con, period)` reads one month for all customers (or some), so the Dagster asset can
read once, close DuckDB (one writer per file; other steps write) and render afterwards. Money
and quantities stay `Decimal` as DuckDB returns them; only chart geometry uses floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from foundation.months import month_bounds
from foundation.restricted import customer_name_sql


@dataclass(frozen=True)
class BillLine:
    line_no: int
    line_code: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount_yuan: Decimal
    segment_no: int = 1  # segment of the month (issue 9): master version changed inside it
    segment_from: date | None = None
    segment_to: date | None = None


@dataclass(frozen=True)
class BlockUsage:
    block: str
    kwh: Decimal
    kvarh: Decimal
    estimated_kwh: Decimal
    failed_intervals: int


@dataclass(frozen=True)
class DailyUsage:
    day: date
    actual_kwh: float
    estimated_kwh: float
    failed_kwh: float

    @property
    def total_kwh(self) -> float:
        return self.actual_kwh + self.estimated_kwh + self.failed_kwh


@dataclass(frozen=True)
class DeviationTier:
    tier_no: int
    lower_ratio: Decimal
    upper_ratio: Decimal | None
    coefficient: Decimal


@dataclass(frozen=True)
class AdjustmentLine:
    """One finance.adjustments row: a line of a closed month's bill, corrected."""

    adjustment_id: str
    customer_id: str
    period: str
    original_bill_no: str
    line_no: int
    line_code: str
    segment_no: int
    unit: str
    unit_price: Decimal | None
    quantity_delta: Decimal
    amount_delta_yuan: Decimal
    reason: str
    run_id: str


@dataclass
class BillData:
    """One customer's bill for one month: the bill row, its lines and its consumption."""

    bill: dict[str, Any]
    lines: list[BillLine] = field(default_factory=list)
    blocks: list[BlockUsage] = field(default_factory=list)
    daily: list[DailyUsage] = field(default_factory=list)
    profile_kw: dict[int, float] = field(default_factory=dict)  # minute of day → mean kW
    interval_counts: dict[str, int] = field(default_factory=dict)  # quality flag → intervals
    peak_slot: datetime | None = None
    tou_bands: dict[int, str] = field(default_factory=dict)  # minute (15-min) → workday block
    tou_source: str | None = None  # the config seed's source: internal, never printed
    deviation_tiers: list[DeviationTier] = field(default_factory=list)
    adjustments: list[AdjustmentLine] = field(default_factory=list)  # pending, carried here

    @property
    def customer_id(self) -> str:
        return self.bill["customer_id"]

    @property
    def period(self) -> str:
        return self.bill["period"]


# Effective-dated master rows: the version in force at the end of the month (latest valid_from
# on or before the last day), so a bill re-rendered later shows the data it was billed with.
def _latest_in_month(table: str, key: str) -> str:
    """The newest version of each `key` of an effective-dated table in force in the month."""
    return f"""select * from {table}
    where valid_from < $end and (valid_to is null or valid_to >= $start)
    qualify row_number() over (partition by {key} order by valid_from desc) = 1"""


BILLS_SQL = f"""
with customers as (
    {_latest_in_month('master.customers', 'customer_id')}
),
retailers as (
    {_latest_in_month('restricted.retailers', 'retailer_id')}
),
contracts as (
    select * from master.contracts
    qualify row_number() over (partition by contract_id order by start_month desc) = 1
),
packages as (
    {_latest_in_month('config.retail_packages', 'package_id')}
),
volumes as (
    select contract_id, sum(contracted_kwh) as contracted_kwh
    from master.contract_volumes where period = $period group by all
),
indexes as (
    select index_code, price from config.market_index_prices where period = $period
)
select
    b.customer_id, b.period, b.period_start, b.run_id, b.retailer_id, b.contract_id, b.package_id,
    b.package_model, b.billed_kwh, b.billed_kvarh, b.max_demand_kw, b.power_factor, b.total_yuan,
    b.average_price_yuan_per_kwh, b.estimated_kwh_share, b.line_count,
    $customer_name as customer_name, c.customer_class, c.voltage_level, c.region, c.industry,
    c.tariff_type,
    c.contract_capacity_kva, c.pf_standard, c.basic_charge_mode, c.contract_demand_kw,
    c.transformer_kva,
    r.retailer_name, r.bank_name, r.bank_account, r.account_holder,
    k.start_month, k.end_month, k.status as contract_status, k.deviation_clause_id,
    p.package_name, p.flat_price, p.green_value, p.sharp_ratio, p.peak_ratio, p.valley_ratio,
    p.deep_valley_ratio, p.linked_ratio, p.linked_target, p.reference_type,
    p.spread, p.sharing_ratio, p.float_price, p.cap_price,
    link.price as linked_index_price, ref.price as reference_index_price,
    v.contracted_kwh
from finance.bills b
left join customers c on c.customer_id = b.customer_id
left join retailers r on r.retailer_id = b.retailer_id
left join contracts k on k.contract_id = b.contract_id
left join packages p on p.package_id = b.package_id
left join volumes v on v.contract_id = b.contract_id
left join indexes link on link.index_code = p.linked_target
left join indexes ref on ref.index_code = p.reference_type
where b.period = $period {{bill_filter}}
  and coalesce(b.bill_status, 'issued') = 'issued'  -- held bills (finance.bill_holds): no document
order by b.customer_id
""".replace("$customer_name", customer_name_sql("c"))  # full name: the bill

LINES_SQL = """
select *
from finance.bill_lines
where period = $period {customer_filter}
order by customer_id, line_no, line_code
"""

# the days of each segment of a month priced in segments (issue 9; bill_lines.segment_no)
SEGMENTS_SQL = """
select customer_id, segment_no, segment_from, segment_to
from core.int_customer_month_segments
where period = $period {customer_filter}
"""

BLOCKS_SQL = """
select customer_id, block, kwh, kvarh, estimated_kwh, failed_intervals
from core.int_customer_month_blocks
where period = $period {customer_filter}
"""

DAILY_SQL = """
select customer_id, reading_date,
       coalesce(sum(value) filter (where quality_flag = 'ACTUAL'), 0)::double as actual_kwh,
       coalesce(sum(value) filter (where quality_flag = 'ESTIMATED'), 0)::double as estimated_kwh,
       coalesce(sum(value) filter (where quality_flag not in ('ACTUAL', 'ESTIMATED')), 0)::double
           as failed_kwh
from core.int_interval_validated
where channel = 'kwh_imp' and reading_date >= $start and reading_date < $end
  and customer_id is not null {customer_filter}
group by all
order by customer_id, reading_date
"""

COUNTS_SQL = """
select customer_id, quality_flag, count(*) as intervals
from core.int_interval_validated
where channel = 'kwh_imp' and reading_date >= $start and reading_date < $end
  and customer_id is not null {customer_filter}
group by all
"""

# Average load by time of day: each interval spread over the 15-minute slots it covers (30-minute
# meters fill two), kW = kWh / hours, summed over the customer's meters, then averaged over days.
PROFILE_SQL = """
with iv as (
    select customer_id, interval_start, interval_minutes, value
    from core.int_interval_validated
    where channel = 'kwh_imp' and reading_date >= $start and reading_date < $end
      and customer_id is not null and value is not null {customer_filter}
),
slots as (
    select customer_id, interval_start + to_minutes(cast(o as integer)) as slot,
           value::double * 60.0 / interval_minutes as kw
    from iv, unnest(range(0, iv.interval_minutes, 15)) t(o)
),
per_slot as (
    select customer_id, slot, sum(kw) as kw from slots group by all
)
select customer_id, hour(slot) * 60 + minute(slot) as minute_of_day, avg(kw) as kw,
       null::timestamp as peak_slot
from per_slot group by all
union all
select customer_id, -1, kw, slot from per_slot  -- the peak; the earliest slot of a tie
qualify row_number() over (partition by customer_id order by kw desc, slot) = 1
"""

# the TOU calendar each customer-month was billed with (the customer's region → grid_regions)
CALENDARS_SQL = """
select customer_id, tou_calendar_id from core.int_customer_month
where period = $period {customer_filter}
"""

# the deviation clause's tiers in force on the month's first day (domain.md §4)
DEVIATION_SQL = """
select deviation_clause_id, tier_no, lower_ratio, upper_ratio, coefficient
from config.deviation_clauses
where valid_from <= $start and (valid_to is null or valid_to >= $start)
order by deviation_clause_id, tier_no
"""

TOU_SQL = """
select minute_of_day, block
from core.dim_tou_minutes
where calendar_id = $calendar and month_no = $month and day_type = 'workday'
  and minute_of_day % 15 = 0
  and $start between valid_from and valid_to
order by minute_of_day
"""

TOU_SOURCE_SQL = """
select string_agg(distinct source, '；') from config.tou_periods
where calendar_id = $calendar and list_contains(string_split(months, ';'), $month_text)
  and valid_from <= $start and (valid_to is null or valid_to >= $start)
"""


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _filtered(sql: str, customer_ids: list[str] | None) -> str:
    """The query with its customer filter filled in (none when all customers are wanted)."""
    if customer_ids is None:
        return sql.format(customer_filter="", bill_filter="")
    return sql.format(customer_filter="and customer_id in (select unnest($customers))",
                      bill_filter="and b.customer_id in (select unnest($customers))")


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the query names (DuckDB rejects unused named parameters)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def load_bills(
    con: duckdb.DuckDBPyConnection, period: str, customer_ids: list[str] | None = None
) -> list[BillData]:
    """All bills of a `YYYY-MM` period (or those customers'), with what their documents show."""
    start, end = month_bounds(period, "period")
    params: dict[str, Any] = {"period": period, "start": start, "end": end}
    if customer_ids is not None:
        params["customers"] = list(customer_ids)

    def query(sql: str, extra: dict[str, Any] | None = None) -> list[dict]:
        wanted = {**params, **(extra or {})}
        text = _filtered(sql, customer_ids)
        return _records(con, text, _used(text, wanted))

    bills = {row["customer_id"]: BillData(bill=row) for row in query(BILLS_SQL)}
    if not bills:
        return []
    segments = {}
    if con.execute("select count(*) from information_schema.tables where table_schema = 'core' "
                   "and table_name = 'int_customer_month_segments'").fetchone()[0]:
        segments = {(r["customer_id"], r["segment_no"]): (r["segment_from"], r["segment_to"])
                    for r in query(SEGMENTS_SQL)}
    # a segment's lines follow each other (segment 1, 2, … of the same line)
    rows = sorted(query(LINES_SQL), key=lambda r: (r["customer_id"], r["line_no"],
                                                   r.get("segment_no") or 1, r["line_code"]))
    for row in rows:
        if row["customer_id"] in bills:
            segment_no = row.get("segment_no") or 1
            days = segments.get((row["customer_id"], segment_no), (None, None))
            bills[row["customer_id"]].lines.append(BillLine(
                row["line_no"], row["line_code"], row["quantity"], row["unit"], row["unit_price"],
                row["amount_yuan"], segment_no, *days))
    for row in query(BLOCKS_SQL):
        if row["customer_id"] in bills:
            bills[row["customer_id"]].blocks.append(BlockUsage(
                row["block"], row["kwh"] or Decimal(0), row["kvarh"] or Decimal(0),
                row["estimated_kwh"] or Decimal(0), int(row["failed_intervals"] or 0)))
    for row in query(DAILY_SQL):
        if row["customer_id"] in bills:
            bills[row["customer_id"]].daily.append(DailyUsage(
                row["reading_date"], row["actual_kwh"], row["estimated_kwh"], row["failed_kwh"]))
    for row in query(COUNTS_SQL):
        if row["customer_id"] in bills:
            bills[row["customer_id"]].interval_counts[row["quality_flag"]] = int(row["intervals"])
    for row in query(PROFILE_SQL):
        bill = bills.get(row["customer_id"])
        if bill is None:
            continue
        if row["minute_of_day"] < 0:
            bill.peak_slot = row["peak_slot"]
        else:
            bill.profile_kw[int(row["minute_of_day"])] = float(row["kw"])

    tiers: dict[str, list[DeviationTier]] = {}
    for row in _records(con, DEVIATION_SQL, {"start": start}):
        tiers.setdefault(row["deviation_clause_id"], []).append(DeviationTier(
            int(row["tier_no"]), row["lower_ratio"], row["upper_ratio"], row["coefficient"]))
    for bill in bills.values():
        bill.deviation_tiers = tiers.get(bill.bill["deviation_clause_id"], [])

    calendars = {row["customer_id"]: row["tou_calendar_id"] for row in query(CALENDARS_SQL)}
    tou: dict[str | None, tuple[dict[int, str], str | None]] = {}
    for calendar in sorted({calendars.get(cid) for cid in bills}, key=str):
        tou_params = {"calendar": calendar, "month": start.month, "month_text": str(start.month)}
        bands = {int(r["minute_of_day"]): r["block"] for r in query(TOU_SQL, tou_params)}
        source_rows = con.execute(TOU_SOURCE_SQL, {
            "calendar": calendar, "month_text": str(start.month), "start": start}).fetchall()
        tou[calendar] = (bands, source_rows[0][0] if source_rows else None)
    for bill in bills.values():
        bill.tou_bands, bill.tou_source = tou[calendars.get(bill.customer_id)]
    return list(bills.values())


def load_bill(con: duckdb.DuckDBPyConnection, customer_id: str, period: str) -> BillData:
    """One customer's bill of a period; `LookupError` if finance.bills has none."""
    found = load_bills(con, period, [customer_id])
    if not found:
        raise LookupError(f"no bill for customer {customer_id!r} in period {period!r}")
    return found[0]
