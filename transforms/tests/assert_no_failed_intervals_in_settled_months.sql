{{ config(meta={'dagster': {'ref': {'name': 'int_customer_month_blocks'}}}) }}
-- Gate before money: a month cannot be settled while any of its intervals is FAILED
-- (neither actual nor estimable). Returns the meters and days that block it.
select v.meter_id, v.channel, v.reading_date, count(*) as failed_intervals
from {{ ref('int_interval_validated') }} v
join (select distinct period_start from {{ ref('int_customer_month_blocks') }}) m
    on date_trunc('month', v.reading_date) = m.period_start
where v.quality_flag = 'FAILED'
group by all
