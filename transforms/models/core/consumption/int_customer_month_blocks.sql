{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Validated energy per customer, month and TOU block (all meters of the customer summed): the
-- month's days of core.int_customer_day_blocks (built by the daily run; the TOU mapping of
-- intervals of any length is documented there). data_version = newest ledger file id behind
-- the month's values (the settlement run's data version).
-- Only days in service are billed (core.int_customer_service_days: a customer version, a
-- contract and a metering point in force); the kWh of the other days are finance.unbilled.

select
    b.customer_id,
    b.period_start,
    strftime(b.period_start, '%Y-%m') as period,
    b.block,
    cast(sum(b.kwh) as decimal(18, 3)) as kwh,
    cast(sum(b.kvarh) as decimal(18, 3)) as kvarh,
    cast(sum(b.estimated_kwh) as decimal(18, 3)) as estimated_kwh,
    sum(b.failed_intervals) as failed_intervals,
    max(b.data_version) as data_version
from {{ ref('int_customer_day_blocks') }} b
join {{ ref('int_customer_service_days') }} s
    on s.customer_id = b.customer_id and s.day = b.reading_date and s.in_service
where b.reading_date >= {{ window_start() }} and b.reading_date < {{ window_end() }}
  and s.day >= {{ window_start() }} and s.day < {{ window_end() }}
group by all
