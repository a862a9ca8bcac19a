{{ config(materialized='view', tags=['daily']) }}
-- Load profile per meter and month (kWh, channel kwh_imp): for each time of day an interval
-- ends at (00:15 … 24:00 for 15-minute meters: 96 points), the average, minimum and maximum
-- validated kWh over the month's days, for BI load curves. A view over the validated intervals,
-- current after every daily run; the BI snapshot copies it as a table.
with labelled as (
    select
        meter_id,
        customer_id,
        strftime(reading_date, '%Y-%m') as period,
        interval_minutes,
        -- end-of-interval label: the last interval of the day ends at 24:00, not 00:00
        hour(interval_start) * 60 + minute(interval_start) + interval_minutes as end_minute,
        value
    from {{ ref('int_interval_validated') }}
    where channel = 'kwh_imp'
)

select
    meter_id,
    max(customer_id) as customer_id,
    period,
    end_minute // interval_minutes as slot,
    lpad((end_minute // 60)::varchar, 2, '0') || ':' || lpad((end_minute % 60)::varchar, 2, '0')
        as time_of_day,
    interval_minutes,
    count(value) as days,
    cast(avg(value) as decimal(18, 3)) as avg_kwh,
    min(value) as min_kwh,
    max(value) as max_kwh
from labelled
group by meter_id, period, interval_minutes, end_minute
