{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Daily forecast per metering point (issue 10; docs/forecasting.md): the customer's forecast
-- (analytics.load_forecast_daily, P10 / P50 / P90, 35 days) × the meter's share of the
-- customer's validated kWh (channel kwh_imp) over the 28 days up to the origin. A meter
-- without validated kWh in those days has no rows; a one-meter customer's meter carries the
-- customer's forecast whole.

with origin as (
    select min(origin_day) as origin_day from {{ source('analytics', 'load_forecast_daily') }}
),

meter_kwh as (
    select v.customer_id, v.meter_id, sum(v.value) as kwh
    from {{ ref('int_interval_validated') }} v
    cross join origin o
    where v.channel = 'kwh_imp' and v.quality_flag <> 'FAILED'
      and v.reading_date between o.origin_day - 27 and o.origin_day
    group by all
),

shares as (
    select customer_id, meter_id,
           kwh / nullif(sum(kwh) over (partition by customer_id), 0) as share
    from meter_kwh
)

select
    s.meter_id,
    f.customer_id,
    f.origin_day,
    f.target_day,
    f.horizon_days,
    f.model,
    cast(round(s.share, 9) as decimal(18, 9)) as share,
    cast(f.p10_kwh * s.share as decimal(18, 3)) as p10_kwh,
    cast(f.p50_kwh * s.share as decimal(18, 3)) as p50_kwh,
    cast(f.p90_kwh * s.share as decimal(18, 3)) as p90_kwh
from {{ source('analytics', 'load_forecast_daily') }} f
join shares s using (customer_id)
where s.share is not null
