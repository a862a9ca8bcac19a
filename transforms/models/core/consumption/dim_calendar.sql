-- One row per day with its day type (workday / weekend / holiday) for like-day logic and TOU.
with days as (
    select cast(d as date) as day
    from generate_series(date '2012-01-01', date '2030-12-31', interval 1 day) t(d)
),

holidays as (
    select day, day_type from {{ ref('holidays') }}
)

select
    d.day,
    month(d.day) as month_no,
    strftime(d.day, '%Y-%m') as period,
    case
        when h.day_type = 'holiday' then 'holiday'
        when h.day_type = 'adjusted_workday' then 'workday'
        when isodow(d.day) in (6, 7) then 'weekend'
        else 'workday'
    end as day_type
from days d
left join holidays h using (day)
