{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_window('reading_date') }}",
    tags=['daily'],
) }}
-- Validated consumption: one row per meter, channel and expected interval in the window, with a
-- quality flag, the estimation method, the pre-VEE value and the read version it came from.

with params as (
    select
        {{ window_start() }} as ws,
        {{ window_end() }} as we,
        max(case when parameter = 'max_interpolation_intervals' then value end)::int as max_interp,
        max(case when parameter = 'like_day_window_days' then value end)::int as like_window,
        max(case when parameter = 'like_days' then value end)::int as like_days,
        max(case when parameter = 'spike_physical_factor' then value end)::double as spike_factor,
        max(case when parameter = 'spike_median_factor' then value end)::double as spike_median_factor,
        max(case when parameter = 'spike_like_days' then value end)::int as spike_like_days
    from {{ ref('vee_parameters') }}
    where valid_to is null
),

meters as (
    select m.meter_id, m.customer_id, m.interval_minutes, m.valid_from,
           coalesce(m.valid_to, date '9999-12-31') as valid_to,
           c.contract_capacity_kva
    from {{ ref('stg_metering_points') }} m
    left join {{ ref('stg_customers') }} c
        on c.customer_id = m.customer_id and c.valid_to is null
),

reads as (
    select r.meter_id, r.channel, r.interval_start, r.value,
           r.file_id * 1000000000 + r.source_row as version_key
    from {{ source('raw', 'interval_reads') }} r, params p
    where r.interval_start >= p.ws - p.like_window and r.interval_start < p.we + p.like_window
),

-- identical duplicates collapse; conflicting versions: the latest file (then row) wins.
-- version_key = file_id × 10^9 + source_row: the ledger file and the line the value came from.
versions as (
    select
        meter_id, channel, interval_start,
        count(*) as n_rows,
        min(value) <> max(value) as has_conflict,
        arg_max(value, version_key) as value,
        max(version_key) as version_key
    from reads
    group by all
),

-- spike: above the physical maximum AND above k × the median of the nearest like-day intervals
-- (a real overload, as in a capacity audit, is above kVA but close to its like-days)
spike_candidates as (
    select v.meter_id, v.channel, v.interval_start, v.value
    from versions v
    join meters m on m.meter_id = v.meter_id
    cross join params p
    where m.contract_capacity_kva is not null
      and v.value > m.contract_capacity_kva * m.interval_minutes / 60.0 * p.spike_factor
),

spike_like_values as (
    select
        sc.meter_id, sc.channel, sc.interval_start, l.value,
        row_number() over (
            partition by sc.meter_id, sc.channel, sc.interval_start
            order by abs(datediff('day', sc.interval_start, l.interval_start)), l.interval_start
        ) as nearest
    from spike_candidates sc
    cross join params p
    join {{ ref("dim_calendar") }} cs on cs.day = sc.interval_start::date
    join versions l
        on l.meter_id = sc.meter_id and l.channel = sc.channel
       and l.interval_start::time = sc.interval_start::time
       and l.interval_start::date <> sc.interval_start::date
       and abs(datediff('day', sc.interval_start, l.interval_start)) <= p.like_window
    join {{ ref("dim_calendar") }} cl on cl.day = l.interval_start::date and cl.day_type = cs.day_type
),

spikes as (
    select sc.meter_id, sc.channel, sc.interval_start
    from spike_candidates sc
    cross join params p
    left join (
        select meter_id, channel, interval_start, median(value) as like_median
        from spike_like_values, params p
        where nearest <= p.spike_like_days
        group by all
    ) m using (meter_id, channel, interval_start)
    where m.like_median is null or sc.value > p.spike_median_factor * m.like_median
),

channels as (
    select meter_id, channel, min(interval_start) as first_read
    from versions group by all
),

last_day as (
    select max(interval_start)::date as d from versions
),

grid as (
    select
        ch.meter_id, ch.channel, m.customer_id, m.interval_minutes, m.contract_capacity_kva,
        unnest(generate_series(
            greatest(p.ws, m.valid_from, ch.first_read::date)::timestamp,
            least(p.we, m.valid_to + 1, l.d + 1)::timestamp - to_minutes(m.interval_minutes),
            to_minutes(m.interval_minutes)
        )) as interval_start
    from channels ch
    join meters m on m.meter_id = ch.meter_id
    cross join params p
    cross join last_day l
),

checked as (
    select
        g.*,
        v.value as raw_value, v.n_rows, v.has_conflict, v.version_key,
        case
            when v.value is null then 'missing'
            when v.value < 0 then 'negative'
            when s.meter_id is not null then 'spike'
        end as failed_rule
    from grid g
    left join versions v using (meter_id, channel, interval_start)
    left join spikes s using (meter_id, channel, interval_start)
),

bad as (
    select * from checked where failed_rule is not null
),

-- actual intervals on the failing days and the days either side: the neighbours an estimate
-- may use (a gap longer than a day is estimated from like-days, not interpolated)
good as (
    select c.meter_id, c.channel, c.interval_start, c.raw_value
    from checked c
    semi join (select distinct meter_id, channel, cast(interval_start as date) as day from bad) d
        on d.meter_id = c.meter_id and d.channel = c.channel
       and cast(c.interval_start as date) between d.day - 1 and d.day + 1
    where c.failed_rule is null
),

-- nearest actual neighbours of each failing interval (ASOF joins touch only the failing rows)
neighbours as (
    select b.*, p.interval_start as prev_ts, p.raw_value as prev_value,
           n.interval_start as next_ts, n.raw_value as next_value
    from bad b
    asof left join good p
        on p.meter_id = b.meter_id and p.channel = b.channel and b.interval_start > p.interval_start
    asof left join good n
        on n.meter_id = b.meter_id and n.channel = b.channel and b.interval_start < n.interval_start
),

gaps as (
    select
        n.*,
        case when prev_ts is not null and next_ts is not null
            then cast(datediff('minute', prev_ts, next_ts) / interval_minutes - 1 as integer)
        end as gap_intervals
    from neighbours n
),

like_day_candidates as (
    select
        gp.meter_id, gp.channel, gp.interval_start,
        v.value,
        row_number() over (
            partition by gp.meter_id, gp.channel, gp.interval_start
            order by abs(datediff('day', gp.interval_start, v.interval_start)), v.interval_start
        ) as nearest
    from gaps gp
    cross join params p
    join {{ ref("dim_calendar") }} cd_gap on cd_gap.day = gp.interval_start::date
    join versions v
        on v.meter_id = gp.meter_id and v.channel = gp.channel
       and v.interval_start::time = gp.interval_start::time
       and v.interval_start::date <> gp.interval_start::date
       and abs(datediff('day', gp.interval_start, v.interval_start)) <= p.like_window
    join {{ ref("dim_calendar") }} cd_like on cd_like.day = v.interval_start::date
    where not (gp.gap_intervals is not null and gp.gap_intervals <= p.max_interp)
      and cd_like.day_type = cd_gap.day_type
      and v.value >= 0
      and not exists (
          select 1 from spikes s
          where s.meter_id = v.meter_id and s.channel = v.channel and s.interval_start = v.interval_start
      )
),

like_day as (
    select meter_id, channel, interval_start, avg(value) as value, count(*) as n_days
    from like_day_candidates, params p
    where nearest <= p.like_days
    group by all
),

estimated as (
    select
        gp.*,
        case
            when gp.gap_intervals is not null and gp.gap_intervals <= p.max_interp
                then 'linear_interpolation'
            when ld.value is not null then 'like_day_average'
            when gp.prev_ts is null and gp.next_ts is not null then 'flat_fill'
            when gp.next_ts is null and gp.prev_ts is not null then 'flat_fill'
            else 'none'
        end as method,
        ld.value as like_day_value
    from gaps gp
    cross join params p
    left join like_day ld using (meter_id, channel, interval_start)
),

final as (
    select
        meter_id, customer_id, channel, interval_start, interval_minutes,
        raw_value as value, raw_value, 'ACTUAL' as quality_flag, 'actual' as method,
        failed_rule, n_rows, has_conflict, version_key
    from checked
    where failed_rule is null
    union all
    select
        meter_id, customer_id, channel, interval_start, interval_minutes,
        case method
            when 'linear_interpolation' then round(
                prev_value + (next_value - prev_value)
                    * (datediff('minute', prev_ts, interval_start) / interval_minutes)
                    / (gap_intervals + 1), 3)
            when 'like_day_average' then round(like_day_value, 3)
            when 'flat_fill' then coalesce(prev_value, next_value)
        end,
        raw_value,
        case when method = 'none' then 'FAILED' else 'ESTIMATED' end,
        method, failed_rule, n_rows, has_conflict, version_key
    from estimated
)

select
    meter_id,
    customer_id,
    channel,
    interval_start,
    cast(interval_start as date) as reading_date,
    interval_minutes,
    cast(value as decimal(18, 3)) as value,
    raw_value,
    quality_flag,
    method,
    failed_rule,
    coalesce(n_rows, 1) - 1 as duplicate_rows,
    coalesce(has_conflict, false) as has_conflict,
    cast(version_key // 1000000000 as bigint) as version,
    cast(version_key % 1000000000 as bigint) as source_row
from final
