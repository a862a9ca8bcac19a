{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('reading_date') }}", tags=['daily'],
) }}
-- Validated energy per customer, day and TOU block, built by the daily run right after VEE
-- (same window), so the monthly settlement sums ~150 rows per customer-month instead of
-- re-reading ~6,000 validated intervals (int_customer_month_blocks, int_customer_month_demand).
-- An interval of any length takes the highest-priority block among the minutes it covers
-- (sharp > peak > flat > deep_valley > valley, domain.md §2), with the TOU calendar version in
-- force on its day and the day's type (workday / weekend / holiday, dim_calendar). max_kw = the largest interval-average demand (kWh × 60 / interval minutes)
-- of the customer's summed meters in that block and day. data_version = newest ledger file id.
-- Blocks are grouped by their priority number (5 sharp … 1 valley) and named at the end: an
-- integer key keeps the ~60 M-row aggregation of a 10,000-meter month cheap.
-- The TOU calendar is the customer's (core.int_customer_day_calendar: region → grid_regions
-- row in force on the day); no calendar id is written here.

with minutes as (
    select calendar_id, month_no, day_type, minute_of_day, block, valid_from, valid_to,
           case block when 'sharp' then 5 when 'peak' then 4 when 'flat' then 3
                when 'deep_valley' then 2 else 1 end as priority
    from {{ ref('dim_tou_minutes') }}
),

lengths as (
    select distinct interval_minutes from {{ ref('stg_metering_points') }}
    union select 15
),

tou as (
    select s.calendar_id, s.month_no, s.day_type, s.minute_of_day, s.valid_from, s.valid_to,
           l.interval_minutes, max(e.priority) as priority
    from minutes s
    cross join lengths l
    join minutes e
        on e.calendar_id = s.calendar_id and e.month_no = s.month_no
       and e.day_type = s.day_type and e.valid_from = s.valid_from
       and e.minute_of_day >= s.minute_of_day
       and e.minute_of_day < s.minute_of_day + l.interval_minutes
    group by all
),

-- the block of every interval start (day, time of day, length) of the days in the window;
-- interval starts are aligned to their length (ingestion quarantines misaligned timestamps)
day_map as (
    select t.calendar_id, c.day, t.minute_of_day, t.interval_minutes, t.priority
    from {{ ref('dim_calendar') }} c
    join tou t
        on t.month_no = c.month_no and t.day_type = c.day_type
       and c.day between t.valid_from and t.valid_to
    where c.day >= {{ window_start() }} and c.day < {{ window_end() }}
      and t.minute_of_day % t.interval_minutes = 0
),

customer_calendar as (
    select customer_id, day, tou_calendar_id from {{ ref('int_customer_day_calendar') }}
    where day >= {{ window_start() }} and day < {{ window_end() }}
),

several_meters as (
    select customer_id from {{ ref('stg_metering_points') }}
    group by all having count(distinct meter_id) > 1
),

blocks as (
    select
        v.customer_id, v.reading_date, m.priority,
        sum(v.value) filter (where v.channel = 'kwh_imp') as kwh,
        sum(v.value) filter (where v.channel = 'kvarh_imp') as kvarh,
        sum(v.value) filter (where v.channel = 'kwh_imp' and v.quality_flag = 'ESTIMATED')
            as estimated_kwh,
        count(*) filter (where v.quality_flag = 'FAILED') as failed_intervals,
        max(v.version) as data_version,
        max(v.value * 60.0 / v.interval_minutes) filter (where v.channel = 'kwh_imp') as meter_max_kw
    from {{ ref('int_interval_validated') }} v
    join customer_calendar cc on cc.customer_id = v.customer_id and cc.day = v.reading_date
    join day_map m
        on m.calendar_id = cc.tou_calendar_id and m.day = v.reading_date
       and m.minute_of_day = hour(v.interval_start) * 60 + minute(v.interval_start)
       and m.interval_minutes = v.interval_minutes
    where v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
      and v.customer_id is not null
    group by all
),

-- customers with several metering points: the demand of their summed meters per interval
summed as (
    select customer_id, reading_date, hour(interval_start) * 60 + minute(interval_start) as minute_of_day,
           max(interval_minutes) as interval_minutes, sum(value) as kwh
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and channel = 'kwh_imp' and customer_id in (select customer_id from several_meters)
    group by customer_id, reading_date, interval_start
),

summed_demand as (
    select s.customer_id, s.reading_date, m.priority, max(s.kwh * 60.0 / s.interval_minutes) as max_kw
    from summed s
    join customer_calendar cc on cc.customer_id = s.customer_id and cc.day = s.reading_date
    join day_map m
        on m.calendar_id = cc.tou_calendar_id and m.day = s.reading_date and m.minute_of_day = s.minute_of_day
       and m.interval_minutes = s.interval_minutes
    group by all
)

select
    b.customer_id,
    b.reading_date,
    cast(date_trunc('month', b.reading_date) as date) as period_start,
    case b.priority when 5 then 'sharp' when 4 then 'peak' when 3 then 'flat'
                    when 2 then 'deep_valley' else 'valley' end as block,
    cast(coalesce(b.kwh, 0) as decimal(18, 3)) as kwh,
    cast(coalesce(b.kvarh, 0) as decimal(18, 3)) as kvarh,
    cast(coalesce(b.estimated_kwh, 0) as decimal(18, 3)) as estimated_kwh,
    b.failed_intervals,
    b.data_version,
    cast(coalesce(d.max_kw, b.meter_max_kw) as double) as max_kw
from blocks b
left join summed_demand d using (customer_id, reading_date, priority)
