-- TOU block for every minute of the day, per calendar version, month and day type
-- (1440 × 12 × 3 per version). A tou_periods row with day_types 'all' applies to workdays,
-- weekends and holidays alike; otherwise to the listed day types (workday;weekend;holiday, the
-- day types of dim_calendar: holidays and 调休 from seed holidays).
with periods as (
    select
        calendar_id, block, start_minute, end_minute, valid_from,
        coalesce(valid_to, date '9999-12-31') as valid_to,
        cast(unnest(string_split(months, ';')) as integer) as month_no,
        day_types
    from {{ ref('tou_periods') }}
),

typed as (
    select *, unnest(case when day_types = 'all' then ['workday', 'weekend', 'holiday']
                          else string_split(day_types, ';') end) as day_type
    from periods
)

select p.calendar_id, p.month_no, p.day_type, m.minute_of_day, p.block, p.valid_from, p.valid_to
from typed p
join (select cast(range as integer) as minute_of_day from range(0, 1440)) m
    on m.minute_of_day >= p.start_minute and m.minute_of_day < p.end_minute
