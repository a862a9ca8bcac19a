{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- The 96-point day-ahead profile per customer (issue 10; domain.md §4 decomposition, §8
-- like-days; docs/forecasting.md): the day after the forecast's origin, its P10 / P50 / P90
-- daily kWh (analytics.load_forecast_daily, horizon 1) spread over the 96 quarter hours by the
-- customer's like-day shape: each quarter hour's share of the kWh of the `like_days`
-- (config.vee_parameters) latest complete days of the target's day type within the 28 days
-- before the origin (VEE's like-day rule: macro like_day_neighbours). Intervals longer than 15
-- minutes are spread evenly over their quarter hours; shorter ones add to the quarter hour they
-- start in. A customer without such a day has no rows (its daily forecast still stands).

with target as (
    select f.customer_id, f.target_day, f.p10_kwh, f.p50_kwh, f.p90_kwh, c.day_type, f.origin_day
    from {{ source('analytics', 'load_forecast_daily') }} f
    join {{ ref('dim_calendar') }} c on c.day = f.target_day
    where f.horizon_days = 1
),

params as (
    select coalesce(max(case when parameter = 'like_days' then value end)::integer, 3) as like_days
    from {{ ref('vee_parameters') }}
    where valid_to is null
),

complete_days as (
    select b.customer_id, b.reading_date
    from {{ ref('int_customer_day_blocks') }} b
    join target t on t.customer_id = b.customer_id
    where b.reading_date between t.origin_day - 27 and t.origin_day
    group by b.customer_id, b.reading_date
    having sum(b.failed_intervals) = 0 and sum(b.kwh) > 0
),

like_pool as (
    select d.customer_id, d.reading_date as day, c.day_type
    from complete_days d
    join {{ ref('dim_calendar') }} c on c.day = d.reading_date
),

like_targets as (
    select customer_id, origin_day as day, day_type from target
),

like_days as (  -- VEE's like-day rule (macro like_day_neighbours): the latest ones at the origin
    select customer_id, like_day as reading_date
    from (
{{ like_day_neighbours('like_targets', 'like_pool', ['customer_id'],
                       '(select like_days from params)', side='up_to') }}
    )
),

quarter_hours as (
    select v.customer_id,
           (hour(v.interval_start) * 60 + minute(v.interval_start)) // 15 + q.k as slot,
           case when v.interval_minutes >= 15 then v.value * 15.0 / v.interval_minutes
                else v.value end as kwh
    from {{ ref('int_interval_validated') }} v
    join like_days l on l.customer_id = v.customer_id and l.reading_date = v.reading_date
    cross join range(0, 4) q(k)
    where v.channel = 'kwh_imp' and q.k < v.interval_minutes / 15
      and v.reading_date >= (select min(origin_day) - 27 from target)  -- prunes the scan
),

shares as (
    select customer_id, slot, sum(kwh) / sum(sum(kwh)) over (partition by customer_id) as share
    from quarter_hours
    group by customer_id, slot
)

select
    t.customer_id,
    t.target_day,
    s.slot + 1 as quarter_hour,
    t.target_day + to_minutes(cast(15 * s.slot as bigint)) as interval_start,
    cast(round(s.share, 9) as decimal(18, 9)) as share,
    cast(t.p10_kwh * s.share as decimal(18, 3)) as p10_kwh,
    cast(t.p50_kwh * s.share as decimal(18, 3)) as p50_kwh,
    cast(t.p90_kwh * s.share as decimal(18, 3)) as p90_kwh
from target t
join shares s using (customer_id)
