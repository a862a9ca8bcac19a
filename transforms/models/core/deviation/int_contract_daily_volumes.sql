{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Monthly contracted volume decomposed to days (domain.md §4): Q_d = Q_m · w_d / Σ w with
-- w = 1 on workdays and the customer's non_workday_factor on weekends and holidays
-- (int_customer_like_day_profile). Q_d is rounded to 3 dp and the last day of the month takes
-- the remainder, so Σ Q_d = Q_m exactly. profile_source says whether the day's intervals
-- follow a like-day profile or the flat fallback (core.contract_interval_profile).

with targets as (
    select customer_id, contract_id, retailer_id, period, period_start, contracted_kwh
    from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and contracted_kwh > 0
),

profiles as (
    select distinct customer_id, period, like_day, non_workday_factor
    from {{ ref('int_customer_like_day_profile') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

factors as (
    select distinct customer_id, period, non_workday_factor from profiles
),

days as (
    select t.*, c.day,
           case when c.day_type = 'workday' then 'workday' else 'non_workday' end as like_day,
           case when c.day_type = 'workday' then 1.0 else coalesce(f.non_workday_factor, 1.0) end
               as day_weight
    from targets t
    join {{ ref('dim_calendar') }} c on c.period = t.period
    left join factors f on f.customer_id = t.customer_id and f.period = t.period
),

rounded as (
    select *,
           cast(round(contracted_kwh * day_weight / sum(day_weight) over w, 3) as decimal(18, 3))
               as rounded_kwh,
           row_number() over (partition by customer_id, period order by day desc) as from_end
    from days
    window w as (partition by customer_id, period)
),

measured as (
    select distinct customer_id, period, like_day from profiles
)

select
    r.customer_id,
    r.contract_id,
    r.retailer_id,
    r.period,
    r.period_start,
    r.day,
    r.like_day,
    cast(r.day_weight as double) as day_weight,
    cast(case when r.from_end = 1
              then r.contracted_kwh - (sum(r.rounded_kwh) over (partition by r.customer_id, r.period)
                                       - r.rounded_kwh)
              else r.rounded_kwh end as decimal(18, 3)) as contracted_kwh,
    case when m.like_day is null then 'flat' else 'like_days' end as profile_source
from rounded r
left join measured m on m.customer_id = r.customer_id and m.period = r.period and m.like_day = r.like_day
