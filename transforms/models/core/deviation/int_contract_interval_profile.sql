{#- table core.contract_interval_profile (alias: the table name and asset key predate the int_ prefix) -#}
{{ config(materialized='view', alias='contract_interval_profile', tags=['monthly']) }}
-- Contracted volume per interval (domain.md §4): q_{d,k} = Q_d · p_k / Σ p, p = the customer's
-- like-day profile of the month (last 30 valid like-days, else flat). Rounded to 3 dp; the
-- last slot of each day takes the remainder, so Σ_k q = Q_d and Σ_d Q_d = Q_m exactly.
-- A view: at 10,000 contracts × 2,976 quarter hours a month a table would cost ~30 M rows per
-- run, while the two small tables it combines are built in the monthly run.

with volumes as (
    select customer_id, contract_id, retailer_id, period, period_start, day, like_day,
           contracted_kwh, profile_source
    from {{ ref('int_contract_daily_volumes') }}
),

profiles as (
    select * from {{ ref('int_customer_like_day_profile') }}
),

-- a day of a like-day type without history: flat over the 96 quarter hours
flat as (
    select cast(range * 15 as integer) as minute_of_day, 15 as slot_minutes,
           1.0 / 96 as share, 'flat' as profile_source
    from range(96)
),

slots as (
    select v.*, p.minute_of_day, p.slot_minutes, p.share, p.profile_source
    from volumes v
    join profiles p
        on p.customer_id = v.customer_id and p.period = v.period and p.like_day = v.like_day
    where v.profile_source = 'like_days'
    union all
    select v.*, f.minute_of_day, f.slot_minutes, f.share, f.profile_source
    from volumes v
    cross join flat f
    where v.profile_source = 'flat'
),

spread as (
    select
        customer_id, contract_id, retailer_id, period, period_start, day, like_day,
        contracted_kwh as day_contracted_kwh,
        minute_of_day, slot_minutes, share, profile_source,
        cast(round(contracted_kwh * share, 3) as decimal(18, 3)) as rounded_kwh,
        row_number() over (partition by customer_id, day order by minute_of_day desc) as from_end
    from slots
)

select
    customer_id,
    contract_id,
    retailer_id,
    period,
    day,
    like_day,
    cast(day + to_minutes(minute_of_day) as timestamp) as interval_start,
    slot_minutes as interval_minutes,
    profile_source,
    share,
    day_contracted_kwh,
    cast(case when from_end = 1
              then day_contracted_kwh - (sum(rounded_kwh) over (partition by customer_id, day)
                                         - rounded_kwh)
              else rounded_kwh end as decimal(18, 3)) as contracted_kwh
from spread
