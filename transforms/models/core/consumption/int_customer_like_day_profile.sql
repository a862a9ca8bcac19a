{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Like-day load profile of each contracted customer for a month (domain.md §4 decomposition),
-- from the customer's own history BEFORE the month: per like-day type (workday; non_workday =
-- weekend or holiday, 调休 workdays count as workdays) the last `profile_like_days` (30) valid
-- days within `profile_history_days` (91), valid = no FAILED interval and kWh > 0. share is
-- the slot's part of the profile (Σ share = 1 per customer, month and like-day type). A
-- like-day type without a valid day has no rows here: core.contract_interval_profile spreads
-- such days flat over 96 quarter hours (stored, flat rows would be ~2 M per month at 10,000
-- customers). non_workday_factor = average daily kWh of the non-workdays / of the workdays
-- used (1 when either is missing).

with params as (
    select
        max(case when s.parameter = 'profile_history_days' then s.value end)::integer as history_days,
        max(case when s.parameter = 'profile_like_days' then s.value end)::integer as like_days
    from {{ ref('settlement_parameters') }} s
    where s.valid_from <= {{ window_start() }}
      and (s.valid_to is null or s.valid_to >= {{ window_start() }})
),

targets as (
    select customer_id, period, period_start
    from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and contracted_kwh > 0
),

calendar as (
    select day, case when day_type = 'workday' then 'workday' else 'non_workday' end as like_day
    from {{ ref('dim_calendar') }}
),

slots as (
    select v.customer_id, v.reading_date as day,
           hour(v.interval_start) * 60 + minute(v.interval_start) as minute_of_day,
           min(v.interval_minutes) as slot_minutes,
           sum(v.value) as kwh,
           count(*) filter (where v.quality_flag = 'FAILED') as failed
    from {{ ref('int_interval_validated') }} v
    where v.channel = 'kwh_imp'
      and v.reading_date >= {{ window_start() }} - to_days((select history_days from params))
      -- history only: nothing of the window's last month is ever a like-day of a window month
      and v.reading_date < {{ window_end() }} - interval 1 month
      and v.customer_id in (select customer_id from targets)
    group by all
),

days as (
    select s.customer_id, s.day, c.like_day, sum(s.kwh) as kwh
    from slots s join calendar c using (day)
    group by all
    having sum(s.failed) = 0 and sum(s.kwh) > 0
),

chosen as (
    select t.customer_id, t.period, t.period_start, d.like_day, d.day, d.kwh
    from targets t
    join days d
        on d.customer_id = t.customer_id
       and d.day < t.period_start
       and d.day >= t.period_start - to_days((select history_days from params))
    qualify row_number() over (partition by t.customer_id, t.period, d.like_day order by d.day desc)
            <= (select like_days from params)
),

measured as (
    select c.customer_id, c.period, c.period_start, c.like_day, s.minute_of_day,
           min(s.slot_minutes) as slot_minutes,
           sum(s.kwh) as kwh,
           count(distinct c.day) as like_days_used
    from chosen c
    join slots s on s.customer_id = c.customer_id and s.day = c.day
    group by all
),

factor as (
    select customer_id, period,
           coalesce(avg(kwh) filter (where like_day = 'non_workday')
                    / nullif(avg(kwh) filter (where like_day = 'workday'), 0), 1) as non_workday_factor
    from chosen group by all
),

profiles as (
    select customer_id, period, period_start, like_day, minute_of_day, slot_minutes,
           kwh / sum(kwh) over (partition by customer_id, period, like_day) as share,
           max(like_days_used) over (partition by customer_id, period, like_day) as like_days_used,
           'like_days' as profile_source
    from measured
),

final as (
    select p.*, coalesce(f.non_workday_factor, 1) as non_workday_factor
    from profiles p
    left join factor f using (customer_id, period)
)

select customer_id, period, period_start, like_day, minute_of_day,
       cast(slot_minutes as integer) as slot_minutes, cast(share as double) as share,
       cast(like_days_used as integer) as like_days_used, profile_source,
       cast(non_workday_factor as double) as non_workday_factor
from final
