-- TOU block for every minute of the day, per month and calendar version (1440 × 12 per version).
with periods as (
    select
        calendar_id, block, start_minute, end_minute, valid_from,
        coalesce(valid_to, date '9999-12-31') as valid_to,
        cast(unnest(string_split(months, ';')) as integer) as month_no
    from {{ ref('tou_periods') }}
)

select p.calendar_id, p.month_no, m.minute_of_day, p.block, p.valid_from, p.valid_to
from periods p
join (select cast(range as integer) as minute_of_day from range(0, 1440)) m
    on m.minute_of_day >= p.start_minute and m.minute_of_day < p.end_minute
