{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Validated energy per customer, month and TOU block (all meters of the customer summed).

with intervals as (
    select v.customer_id, v.channel, v.interval_start, v.interval_minutes, v.value, v.quality_flag
    from {{ ref('int_interval_validated') }} v
    where v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
      and v.customer_id is not null
),

tou as (
    select * from {{ ref('dim_tou_minutes') }} where calendar_id = 'jibei'
)

select
    i.customer_id,
    cast(date_trunc('month', i.interval_start) as date) as period_start,
    strftime(i.interval_start, '%Y-%m') as period,
    t.block,
    cast(sum(case when i.channel = 'kwh_imp' then i.value else 0 end) as decimal(18, 3)) as kwh,
    cast(sum(case when i.channel = 'kvarh_imp' then i.value else 0 end) as decimal(18, 3)) as kvarh,
    cast(sum(case when i.channel = 'kwh_imp' and i.quality_flag = 'ESTIMATED' then i.value else 0 end)
         as decimal(18, 3)) as estimated_kwh,
    count(*) filter (where i.quality_flag = 'FAILED') as failed_intervals
from intervals i
join tou t
    on t.month_no = month(i.interval_start)
   and t.minute_of_day = hour(i.interval_start) * 60 + minute(i.interval_start)
   and cast(i.interval_start as date) between t.valid_from and t.valid_to
group by all
