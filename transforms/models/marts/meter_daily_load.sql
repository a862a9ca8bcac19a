{{ config(materialized='view', tags=['daily']) }}
-- Daily active energy per meter (kWh, channel kwh_imp), for BI load curves: the validated kWh of
-- the day, its intervals and how many of them are not as read. A view over the validated
-- intervals, current after every daily run; the BI snapshot copies it as a table.
select
    meter_id,
    max(customer_id) as customer_id,
    reading_date,
    strftime(reading_date, '%Y-%m') as period,
    cast(sum(value) as decimal(18, 3)) as kwh,
    count(*) as intervals,
    count(*) filter (where quality_flag = 'ESTIMATED') as estimated_intervals,
    count(*) filter (where quality_flag = 'EDITED') as edited_intervals,
    count(*) filter (where quality_flag = 'FAILED') as failed_intervals
from {{ ref('int_interval_validated') }}
where channel = 'kwh_imp'
group by meter_id, reading_date
