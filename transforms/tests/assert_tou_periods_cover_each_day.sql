{#-
    Every month 1..12 and day type (workday, weekend, holiday; day_types 'all' = the three) of
    every TOU calendar version (calendar_id, valid_from) must be covered by its periods exactly
    once over [0, 1440) minutes; a day type outside the three is reported too: no gap, no overlap, no empty period, no month
    missing and no month outside 1..12. Returns one row per problem found.
-#}

with periods as (
    select
        calendar_id,
        valid_from,
        months,
        start_minute,
        end_minute,
        day_types
    from {{ ref('tou_periods') }}
),

expanded as (
    select
        calendar_id,
        valid_from,
        try_cast(trim(month_text) as integer) as month_no,
        month_text,
        day_type,
        start_minute,
        end_minute
    from (
        select *, unnest(string_split(months, ';')) as month_text
        from (
            select *, unnest(case when day_types = 'all' then ['workday', 'weekend', 'holiday']
                                  else string_split(day_types, ';') end) as day_type
            from periods
        )
    )
),

ordered as (
    select
        *,
        lag(end_minute) over w as previous_end,
        row_number() over w as period_no,
        count(*) over (partition by calendar_id, valid_from, month_no, day_type) as n_periods
    from expanded
    where month_no between 1 and 12
    window w as (partition by calendar_id, valid_from, month_no, day_type
                 order by start_minute, end_minute)
),

bad_periods as (
    select
        calendar_id,
        valid_from,
        month_no,
        start_minute,
        end_minute,
        case
            when end_minute <= start_minute then 'empty or reversed period'
            when period_no = 1 and start_minute <> 0 then 'gap at start of day'
            when period_no > 1 and start_minute > previous_end then 'gap before period'
            when period_no > 1 and start_minute < previous_end then 'overlap with previous period'
            else 'day does not end at 1440'
        end as problem
    from ordered
    where end_minute <= start_minute
       or (period_no = 1 and start_minute <> 0)
       or (period_no > 1 and start_minute <> previous_end)
       or (period_no = n_periods and end_minute <> 1440)
),

bad_months as (
    select
        calendar_id,
        valid_from,
        null::integer as month_no,
        start_minute,
        end_minute,
        'month not in 1..12: ' || month_text as problem
    from expanded
    where month_no is null or month_no not between 1 and 12
),

bad_day_types as (
    select distinct
        calendar_id,
        valid_from,
        month_no,
        null::integer as start_minute,
        null::integer as end_minute,
        'day type not workday, weekend or holiday: ' || day_type as problem
    from expanded
    where day_type not in ('workday', 'weekend', 'holiday')
),

versions as (
    select distinct calendar_id, valid_from
    from periods
),

missing_months as (
    select
        versions.calendar_id,
        versions.valid_from,
        all_months.month_no,
        null::integer as start_minute,
        null::integer as end_minute,
        'month has no periods' as problem
    from versions
    cross join (select unnest(range(1, 13)) as month_no) as all_months
    cross join (select unnest(['workday', 'weekend', 'holiday']) as day_type) as all_types
    where not exists (
        select 1
        from expanded
        where expanded.calendar_id = versions.calendar_id
          and expanded.valid_from = versions.valid_from
          and expanded.month_no = all_months.month_no
          and expanded.day_type = all_types.day_type
    )
)

select * from bad_periods
union all
select * from bad_months
union all
select * from bad_day_types
union all
select * from missing_months
