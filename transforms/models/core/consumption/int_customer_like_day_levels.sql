{{ config(materialized='table', tags=['forecast_input']) }}
-- The like-day levels of the load forecast (assets/forecast/baselines.py: the like-day average
-- baseline, a LightGBM feature, the monthly forecast's day levels), by VEE's like-day rule
-- (macro like_day_neighbours, side up_to: one implementation for both): per customer, origin and
-- day type, the latest complete days of that type known at the origin (the origin included).
-- like_kwh is the mean of the `like_days` latest (vee_parameters, VEE's own setting), band_p10 /
-- band_p90 the 10th / 90th percentile (linear interpolation) of the latest greatest(like_days, 8).
-- A day is complete when none of its intervals FAILED (core.int_customer_day_blocks).
-- Origins: the days the forecast reads levels at: weekly back from the latest validated day (the
-- backtest's, the model's training and the served forecast's origins) and every month's eve (the
-- season ratio of the monthly forecast). Built by forecast_job before its Python assets.

with params as (
    select coalesce((select arg_max(value, valid_from)::integer from {{ ref('vee_parameters') }}
                     where parameter = 'like_days' and valid_from <= current_date), 3) as like_days,
           8 as band_days
),

days as (
    select customer_id, reading_date as day,
           case when sum(failed_intervals) = 0 then sum(kwh)::double end as kwh
    from {{ ref('int_customer_day_blocks') }}
    group by all
),

typed as (  -- a day the calendar lacks is a workday or weekend by its weekday (as read_calendar)
    select d.*, coalesce(c.day_type, case when isodow(d.day) >= 6 then 'weekend' else 'workday' end)
                    as day_type
    from days d
    left join {{ ref('dim_calendar') }} c on c.day = d.day
),

span as (
    select min(day) as first_day, max(day) as last_day from days
),

origins as (
    select cast(unnest(range(s.first_day, s.last_day + interval 1 day, interval 1 day)) as date) as day
    from span s
),

targets as (
    select c.customer_id, o.day, t.day_type
    from (select distinct customer_id from days) c
    cross join origins o
    cross join (values ('workday'), ('weekend'), ('holiday')) t(day_type)
    cross join span s
    where (s.last_day - o.day) % 7 = 0 or day(o.day + 1) = 1
),

pool as (
    select customer_id, day, day_type, kwh from typed where kwh is not null
),

nearest as (
{{ like_day_neighbours('targets', 'pool', ['customer_id'],
                       '(select greatest(like_days, band_days) from params)', side='up_to',
                       carry=['kwh']) }}
),

levels as (
    select n.customer_id, n.day as origin_day, n.day_type,
           avg(n.kwh) filter (where n.like_rank <= p.like_days) as like_kwh,
           quantile_cont(n.kwh, [0.1, 0.9]) as band,  -- one sort for both
           cast(count(*) filter (where n.like_rank <= p.like_days) as integer) as like_days_used
    from nearest n
    cross join params p
    group by all
)

select customer_id, origin_day, day_type, like_kwh, band[1] as band_p10, band[2] as band_p90,
       like_days_used
from levels
