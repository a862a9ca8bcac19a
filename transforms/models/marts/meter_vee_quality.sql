{{ config(materialized='view', tags=['daily']) }}
-- VEE quality per meter, month, quality flag and method (both channels), for BI: how many
-- intervals were read, estimated (and how), edited or failed. A view over the validated
-- intervals, current after every daily run; the BI snapshot copies it as a table.
select
    meter_id,
    max(customer_id) as customer_id,
    strftime(reading_date, '%Y-%m') as period,
    channel::varchar as channel,
    quality_flag::varchar as quality_flag,
    method::varchar as method,
    count(*) as intervals,
    cast(sum(value) as decimal(18, 3)) as energy
from {{ ref('int_interval_validated') }}
group by meter_id, period, channel, quality_flag, method
