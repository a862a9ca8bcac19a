"""The capacity alert on the day it happens (issue 10 item 4): a daily asset of `daily_job`.

`marts.alerts` raises `capacity_exceeded` when a customer's largest interval demand is above
`capacity_audit_factor` × its contract kVA on at least `capacity_audit_min_days` days of a
month (config.settlement_parameters; domain.md §8). The monthly run knows that only after the
month. This asset counts the days of the month so far from the validated energy of the daily
run (core.int_customer_day_blocks, `max_kw` per day) and, for each customer whose
`min_days`-th day over capacity falls in the run's days, sends the same notice under the same
key as the month's alert (`capacity_exceeded:<customer>:<month>:capacity`): the monthly run then
finds it in the delivery ledger and sends nothing again. Spikes VEE replaced count at month end
only (the month's alert also counts the read maxima).

No `from __future__ import annotations` here: Dagster rejects string annotations on `context`.
"""

from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from foundation.partitions import daily_partitions
from foundation.resources import Gridledger
from foundation.restricted import customer_name_sql
from foundation.warehouse import connect, table_exists
from notifications.recipients import Audience, resolve_each
from notifications.resource import DeliveryResource
from notifications.service import DeliveryTally, Notice

from .notices import MANAGERS_SQL, unreached_check, unreached_result

CAPACITY_DAY_NOTICES = AssetKey(["alerts", "capacity_day_notices"])

# per customer and month: the days over capacity so far, numbered; the row of the min_days-th
DAYS_OVER_SQL = f"""
with params as (
    select max(case when parameter = 'capacity_audit_min_days' then value end)::int as min_days,
           max(case when parameter = 'capacity_audit_factor' then value end)::double as factor
    from config.settlement_parameters where valid_to is null
),
days as (
    select customer_id, reading_date, max(max_kw) as max_kw
    from core.int_customer_day_blocks
    where reading_date >= $month_start and reading_date < $end
    group by all
),
over as (
    select d.customer_id, strftime(d.reading_date, '%Y-%m') as period, d.reading_date,
           row_number() over (partition by d.customer_id, strftime(d.reading_date, '%Y-%m')
                              order by d.reading_date) as nth,
           max(d.max_kw) over (partition by d.customer_id, strftime(d.reading_date, '%Y-%m')
                               order by d.reading_date) as max_kw_to_date,
           c.contract_capacity_kva, {customer_name_sql('c')} as customer_name, p.min_days
    from days d
    join master.customers c on c.customer_id = d.customer_id and c.valid_to is null
    cross join params p
    where d.max_kw > p.factor * c.contract_capacity_kva
)
select customer_id, period, reading_date, min_days, max_kw_to_date, contract_capacity_kva,
       customer_name
from over
where nth = min_days and reading_date >= $start and reading_date < $end
order by customer_id
"""


def notice_key(customer_id: str, period: str) -> str:
    """The month's alert id (marts.alerts), so one notice per customer and month."""
    return f"capacity_exceeded:{customer_id}:{period}:capacity"


@asset(
    key=CAPACITY_DAY_NOTICES,
    group_name="alerts_daily",
    deps=[AssetKey(["core", "int_customer_day_blocks"])],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    check_specs=[unreached_check(CAPACITY_DAY_NOTICES)],
    description="capacity_exceeded on the day the month's min_days-th day over capacity is "
                "validated (the daily run), under the month's alert key: the monthly run then "
                "sends it no second time.",
)
def capacity_day_notices(context: AssetExecutionContext, gridledger: Gridledger,
                         delivery: DeliveryResource) -> MaterializeResult:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    params = {"start": start, "end": end, "month_start": date(start.year, start.month, 1)}
    plan: list[Notice] = []
    with connect(gridledger.warehouse_path, read_only=True) as con:
        if not (table_exists(con, "core", "int_customer_day_blocks")
                and table_exists(con, "config", "settlement_parameters")):
            return MaterializeResult(metadata={"customers": 0, "not_run": "no validated days"},
                                     check_results=[unreached_result(CAPACITY_DAY_NOTICES,
                                                                     DeliveryTally())])
        rows = con.execute(DAYS_OVER_SQL, params).df().to_dict("records")
        managers = tuple(r[0] for r in con.execute(MANAGERS_SQL).fetchall())
        found = resolve_each(con, [
            ("capacity_exceeded",
             Audience(customer_ids=(row["customer_id"],), contact_ids=managers))
            for row in rows])
    for row, recipients in zip(rows, found, strict=True):
        kva = float(row["contract_capacity_kva"])
        plan.append(Notice(notice_key(row["customer_id"], row["period"]), "capacity_exceeded", {
            "customer_name": row["customer_name"], "period": row["period"],
            "meter_id": row["customer_id"], "days": row["min_days"],
            "max_kw": round(float(row["max_kw_to_date"]), 1), "contract_kva": kva,
            "ratio": round(float(row["max_kw_to_date"]) / kva, 2)}, recipients))
    service = delivery.service(gridledger.warehouse_path)
    tally = DeliveryTally()
    for report in service.deliver_many(plan):
        tally.add(report)
    context.log.info(f"capacity on the day: {len(plan)} customers reached the audit's days")
    return MaterializeResult(
        metadata={"customers": len(plan),
                  "customer_days": ", ".join(f"{r['customer_id']} {r['reading_date']:%Y-%m-%d}"
                                             for r in rows[:20]) or "none",
                  **tally.metadata()},
        check_results=[unreached_result(CAPACITY_DAY_NOTICES, tally)])
