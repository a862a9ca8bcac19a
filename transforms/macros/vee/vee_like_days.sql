{#- VEE like-day values, shared by the checks (spike and stuck-zero medians) and the estimation
    (like-day average).
    Takes: vee = vee_settings(); suspect_flags, zero_members, cand_read (row checks), like_pool
    (day checks), params, dim_calendar; raw.interval_reads read by exact key (vee_latest_of).
    Gives the CTE like_stats: per interval that may need them (spike candidates, zero runs,
    negative or multiplier-mismatched rows, missing intervals) spike_median (nearest
    spike_like_days clean like-days), zero_median (nearest zero_run_like_days like-days, zeros
    included) and like_average (nearest like_days clean like-days); need_days, run_days,
    like_choice, like_keys, like_reads and like_values on the way. -#}
{% macro vee_like_days(vee) -%}
-- like-day values: for every interval that may need them, the nearest like-days of its day
-- (same day type, within like_window), read by exact key. Two rankings:
--   rank_all   every eligible day (zeros included): the stuck-zero verdict compares a zero run
--              with what the meter usually reads there, so a premise that regularly reads zero
--              is not "stuck";
--   rank_clean days without a zero run ≥ zero_run_min_intervals first (outage days excluded),
--              falling back to days with runs only when there is no other (a vacant premise):
--              spike medians and estimates.
like_needs as (
    select distinct meter_id, channel, interval_start
    from (
        select meter_id, channel, interval_start from suspect_flags where is_spike_candidate
        union all
        select meter_id, channel, interval_start from zero_members
        union all
        select meter_id, channel, interval_start from suspect_flags
        where is_negative or mult_mismatch
        union all
        select meter_id, channel, interval_start from cand_read where raw_value is null
    )
),

need_days as (
    select distinct meter_id, channel, cast(interval_start as date) as day from like_needs
),

run_days as (
    select distinct meter_id, channel, cast(interval_start as date) as day from zero_members
),

like_choice as (
    select
        n.meter_id, n.channel, n.day, l.day as like_day,
        row_number() over (
            partition by n.meter_id, n.channel, n.day order by abs(l.day - n.day), l.day
        ) as rank_all,
        row_number() over (
            partition by n.meter_id, n.channel, n.day
            order by r.day is not null, abs(l.day - n.day), l.day
        ) as rank_clean,
        (r.day is not null) = min(r.day is not null) over (partition by n.meter_id, n.channel, n.day)
            as in_clean
    from (
        select n.*, cast(unnest(range(-p.like_window, p.like_window + 1)) as integer) as offset_days
        from need_days n, params p
    ) n
    cross join params p
    join {{ ref('dim_calendar') }} cn on cn.day = n.day
    join like_pool l
        on l.meter_id = n.meter_id and l.channel = n.channel and l.day = n.day + n.offset_days
       and l.day_type = cn.day_type and n.offset_days <> 0
    left join run_days r on r.meter_id = l.meter_id and r.channel = l.channel and r.day = l.day
    qualify rank_all <= p.zero_like_days
         or (in_clean and rank_clean <= greatest(p.like_days, p.spike_like_days))
),

like_keys as materialized (
    select
        n.meter_id, n.channel, n.interval_start, c.rank_all, c.rank_clean, c.in_clean,
        n.interval_start + to_days(c.like_day - cast(n.interval_start as date)) as like_start
    from like_needs n
    join like_choice c
        on c.meter_id = n.meter_id and c.channel = n.channel
       and c.day = cast(n.interval_start as date)
),

-- (the latest version of each like-day interval, read from the landed rows)
like_reads as (
{{ vee_latest_of('like_keys', 'like_start', vee) }}
),

like_values as (
    select k.meter_id, k.channel, k.interval_start, k.rank_all, k.rank_clean, k.in_clean, r.value
    from like_keys k
    join like_reads r
        on r.meter_id = k.meter_id and r.channel = k.channel and r.like_start = k.like_start
),

like_stats as materialized (
    select
        meter_id, channel, interval_start,
        median(value) filter (where in_clean and rank_clean <= p.spike_like_days) as spike_median,
        median(value) filter (where rank_all <= p.zero_like_days) as zero_median,
        avg(value) filter (where in_clean and rank_clean <= p.like_days) as like_average
    from like_values, params p
    group by meter_id, channel, interval_start
)
{%- endmacro %}
