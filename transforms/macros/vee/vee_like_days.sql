{#- VEE like-day values, shared by the checks (spike and stuck-zero medians) and the estimation
    (like-day average).
    Takes: vee = vee_settings(); suspect_flags, zero_members, cand_read (row checks), like_pool
    (day checks), params, dim_calendar; raw.interval_reads read by exact key (vee_latest_of).
    Gives the CTE like_stats: per interval that may need them (spike candidates, zero runs,
    negative or multiplier-mismatched rows, missing intervals) spike_median (nearest
    spike_like_days clean like-days), zero_median (nearest zero_run_like_days like-days, zeros
    included) and like_average (nearest like_days clean like-days); need_days, run_days,
    like_targets, clean_pool, near_all, near_clean (the like-day rule: macro like_day_neighbours,
    macros/like_days.sql, shared with the forecast), like_choice, like_keys, like_reads and
    like_values on the way. -#}
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

like_targets as (
    select n.meter_id, n.channel, n.day, c.day_type
    from need_days n
    join {{ ref('dim_calendar') }} c on c.day = n.day
),

clean_pool as (  -- like-days without a zero run
    select l.* from like_pool l
    anti join run_days r on r.meter_id = l.meter_id and r.channel = l.channel and r.day = l.day
),

near_all as (
{{ like_day_neighbours('like_targets', 'like_pool', ['meter_id', 'channel'],
                       '(select greatest(zero_like_days, like_days, spike_like_days) from params)',
                       window='(select like_window from params)') }}
),

near_clean as (
{{ like_day_neighbours('like_targets', 'clean_pool', ['meter_id', 'channel'],
                       '(select greatest(like_days, spike_like_days) from params)',
                       window='(select like_window from params)') }}
),

-- rank_clean ranks the clean days first: among them while the window has one, else among all
-- (a vacant premise); in_clean marks the days of that ranking
like_choice as (
    select meter_id, channel, day, like_day, rank_all,
           case when has_clean then clean_rank else rank_all end as rank_clean,
           not has_clean or clean_rank is not null as in_clean
    from (
        select meter_id, channel, day, like_day, a.like_rank as rank_all,
               c.like_rank as clean_rank,
               count(c.like_rank) over (partition by meter_id, channel, day) > 0 as has_clean
        from near_all a
        full join near_clean c using (meter_id, channel, day, day_type, like_day)
    )
    cross join params p
    where rank_all <= p.zero_like_days
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
