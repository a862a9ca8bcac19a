{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('day') }}", tags=['monthly'],
) }}
-- One row per customer and calendar day of the window on which a customer master version is in
-- force: the version (its valid_from), the contract covering the day and how many of the
-- customer's metering points are in service. A day is in service (billed) when the customer,
-- a contract and at least one metering point are all in force; only those days' validated kWh
-- reach core.int_customer_month_blocks and the bills, and their count prorates the basic
-- charge. A day without a customer version has no row here: its kWh go to finance.unbilled
-- (customer_not_active), as do in-version days without a contract (no_contract).
-- Overlapping customer versions (bad master data): the later valid_from wins.

with days as (
    select day, cast(date_trunc('month', day) as date) as period_start
    from {{ ref('dim_calendar') }}
    where day >= {{ window_start() }} and day < {{ window_end() }}
),

versions as (
    select d.day, d.period_start, c.customer_id, c.valid_from as customer_valid_from
    from days d
    join {{ ref('stg_customers') }} c
        on d.day >= c.valid_from and (c.valid_to is null or d.day <= c.valid_to)
    qualify row_number() over (partition by c.customer_id, d.day order by c.valid_from desc) = 1
),

contracts as (
    select v.customer_id, v.day, min(k.contract_id) as contract_id
    from versions v
    join {{ ref('stg_contracts') }} k
        on k.customer_id = v.customer_id and v.day between k.start_date and k.end_date
    group by all
),

meters as (
    select v.customer_id, v.day, count(distinct m.meter_id) as meters_in_service
    from versions v
    join {{ ref('stg_metering_points') }} m
        on m.customer_id = v.customer_id
       and v.day >= m.valid_from and (m.valid_to is null or v.day <= m.valid_to)
    group by all
)

select
    v.customer_id,
    v.day,
    v.period_start,
    v.customer_valid_from,
    k.contract_id,
    coalesce(m.meters_in_service, 0) as meters_in_service,
    k.contract_id is not null and coalesce(m.meters_in_service, 0) > 0 as in_service
from versions v
left join contracts k using (customer_id, day)
left join meters m using (customer_id, day)
