{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Validated energy per customer, month and TOU block (all meters of the customer summed): the
-- month's days of core.int_customer_day_blocks (built by the daily run; the TOU mapping of
-- intervals of any length is documented there). data_version = newest ledger file id behind
-- the month's values (the settlement run's data version).

select
    customer_id,
    period_start,
    strftime(period_start, '%Y-%m') as period,
    block,
    cast(sum(kwh) as decimal(18, 3)) as kwh,
    cast(sum(kvarh) as decimal(18, 3)) as kvarh,
    cast(sum(estimated_kwh) as decimal(18, 3)) as estimated_kwh,
    sum(failed_intervals) as failed_intervals,
    max(data_version) as data_version
from {{ ref('int_customer_day_blocks') }}
where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
group by all
