{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Maximum demand per customer and month: the largest interval-average kW of the customer's
-- summed meters (kWh × 60 / interval minutes; per day in core.int_customer_day_blocks), the days
-- on which it exceeded 1.2 × kVA, and the last day with validated reads (month-to-date
-- forecasts).

with daily as (
    select customer_id, reading_date as day, max(max_kw) as max_kw
    from {{ ref('int_customer_day_blocks') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
    group by all
),

capacity as (
    select customer_id, contract_capacity_kva from {{ ref('stg_customers') }} where valid_to is null
)

select
    d.customer_id,
    cast(date_trunc('month', d.day) as date) as period_start,
    strftime(d.day, '%Y-%m') as period,
    cast(max(d.max_kw) as decimal(18, 3)) as max_demand_kw,
    count(*) filter (where d.max_kw > 1.2 * c.contract_capacity_kva) as days_over_capacity,
    any_value(c.contract_capacity_kva) as contract_capacity_kva,
    max(d.day) as last_reading_date
from daily d
left join capacity c using (customer_id)
group by all
