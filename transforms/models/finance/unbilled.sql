{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Validated kWh that is on no bill, with the reason (finance contract; see _finance.yml). The
-- completeness invariant (tests/assert_every_validated_kwh_is_billed_or_unbilled.sql): per
-- customer (or customer-less meter) and settled month, validated kWh = billed kWh
-- (+ kWh adjustments of a locked month) + unbilled kWh. Recomputed for the window on every run
-- (it is the current state, not an issued document). Each row with kWh raises an
-- unbilled_energy alert (marts.alerts) for the account managers.
-- Reasons, per day (core.int_customer_service_days) then per customer-month
-- (core.int_customer_month.unbilled_reason):
--   no_customer          the metering point has no customer in master data
--   customer_not_active  no customer master version is in force on the day
--   no_contract          the customer has no contract covering the day
--   no_metering_point    no metering point of the customer is in service on the day (the read
--                        came from a meter master row of another customer version)
--   no_package_price     the contract's package has no price for the month
--   no_tariff            a tariff row (T&D, system operation, funds, line loss, basic) is missing
--   no_parameters        no settlement_parameters row is in force
--   not_settled          in service and billable, yet no customer-month was settled (a bug)

with energy as (
    select customer_id, reading_date as day, sum(kwh) as kwh
    from {{ ref('int_customer_day_blocks') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
    group by all
),

service as (
    select * from {{ ref('int_customer_service_days') }}
    where day >= {{ window_start() }} and day < {{ window_end() }}
),

cm as (
    select customer_id, period_start, unbilled_reason from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

customer_days as (
    select
        e.customer_id,
        cast(null as varchar) as meter_id,
        e.day,
        e.kwh,
        case
            when s.customer_id is null then 'customer_not_active'
            when s.contract_id is null then 'no_contract'
            when s.meters_in_service = 0 then 'no_metering_point'
            when cm.customer_id is null then 'not_settled'
            else cm.unbilled_reason
        end as reason
    from energy e
    left join service s on s.customer_id = e.customer_id and s.day = e.day
    left join cm on cm.customer_id = e.customer_id
                and cm.period_start = cast(date_trunc('month', e.day) as date)
),

-- metering points without a customer: never reach the customer blocks
orphan_days as (
    select cast(null as varchar) as customer_id, meter_id, reading_date as day,
           coalesce(sum(value), 0) as kwh, 'no_customer' as reason
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and channel = 'kwh_imp' and customer_id is null
    group by all
),

days as (
    select *, strftime(day, '%Y-%m') as period, cast(date_trunc('month', day) as date) as period_start
    from (
        select * from customer_days where reason is not null
        union all
        select * from orphan_days
    )
)

select
    coalesce(customer_id, meter_id) || ':' || period || ':' || reason as unbilled_id,
    customer_id,
    meter_id,
    period,
    period_start,
    reason,
    min(day) as first_day,
    max(day) as last_day,
    cast(count(*) as integer) as days,
    cast(sum(kwh) as decimal(18, 3)) as kwh
from days
group by customer_id, meter_id, period, period_start, reason
