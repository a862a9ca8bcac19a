{#- VEE stage estimation (1/2): what to estimate, and the actual neighbours for linear
    interpolation.
    Takes: vee = vee_settings(); cand_read, suspects (row checks), row_verdicts, params;
    raw.interval_reads read by exact key (vee_latest_of).
    Gives the CTEs: to_estimate (intervals of the window to estimate: missing, or failed a rule
    other than a rescalable multiplier mismatch), near_keys, near_latest, near_reads, near and
    near_pick (per interval to estimate: the nearest actual read before it, prev_k / prev_value,
    and after it, next_k / next_value, within max_interpolation_intervals + 1 intervals). -#}
{% macro vee_interpolation(vee) -%}
-- the intervals of the window to estimate: missing ones, and read ones that failed a rule
-- (a wrong multiplier alone is rescaled, not estimated)
to_estimate as (
    select meter_id, channel, interval_start, interval_minutes
    from cand_read
    where raw_value is null
    union all
    select v.meter_id, v.channel, v.interval_start, s.interval_minutes
    from row_verdicts v
    join suspects s using (meter_id, channel, interval_start)
    cross join params p
    where v.interval_start >= p.ws and v.interval_start < p.we
      and (v.is_negative or v.f_spike or v.f_stuck or (v.mult_mismatch and not v.can_rescale))
),

-- actual neighbours are read rows of the candidate days ± 1 that failed no rule. Linear
-- interpolation never needs one further than max_interp intervals away: exact-key look-ups.
near_keys as materialized (
    select b.meter_id, b.channel, b.interval_start, k.k,
           b.interval_start + to_minutes(cast(k.k * b.interval_minutes as integer)) as read_start
    from to_estimate b
    cross join params p
    cross join lateral (select unnest(range(-(p.max_interp + 1), p.max_interp + 2)) as k) k
    where k.k <> 0
),

near_latest as (
{{ vee_latest_of('near_keys', 'read_start', vee) }}
),

near_reads as (
    select k.meter_id, k.channel, k.interval_start, k.k, k.read_start, r.value
    from near_keys k
    join near_latest r using (meter_id, channel, read_start)
),

near as (
    select n.*
    from near_reads n
    anti join (select * from row_verdicts where is_bad) v
        on v.meter_id = n.meter_id and v.channel = n.channel and v.interval_start = n.read_start
),

near_pick as (
    select
        meter_id, channel, interval_start,
        max(k) filter (where k < 0) as prev_k,
        arg_max(value, k) filter (where k < 0) as prev_value,
        min(k) filter (where k > 0) as next_k,
        arg_min(value, k) filter (where k > 0) as next_value
    from near
    group by all
)
{%- endmacro %}

{#- VEE stage estimation (2/2): the estimate of every interval to estimate.
    Takes: to_estimate, near_pick (interpolation), like_stats.like_average (like-days),
    focus_rows, row_verdicts (checks), params.
    Gives the CTE estimates: per interval method (linear_interpolation when the gap is at most
    max_interpolation_intervals, else like_day_average, else flat_fill from the one side with an
    actual read, else none) and estimate decimal(18, 3); first_pass, fallback, far_ctx and far
    (flat fill) on the way. -#}
{% macro vee_estimates() -%}
first_pass as (
    select
        b.*, n.prev_k, n.prev_value, n.next_k, n.next_value,
        n.next_k - n.prev_k - 1 as gap_intervals,
        l.like_average
    from to_estimate b
    left join near_pick n using (meter_id, channel, interval_start)
    left join like_stats l using (meter_id, channel, interval_start)
),

-- neither interpolation nor like-days: is there an actual read on one side only (flat fill)?
fallback as materialized (
    select f.meter_id, f.channel, f.interval_start
    from first_pass f, params p
    where not coalesce(f.gap_intervals <= p.max_interp, false) and f.like_average is null
),

-- the read rows of the candidate days ± 1 that failed no rule, for the meters and channels with
-- such intervals only (usually none); a window over them and the fallback rows finds the
-- nearest read on each side
far_ctx as materialized (
    select r.meter_id, r.channel, r.interval_start, r.value
    from (
        select r.meter_id, r.channel, r.interval_start, r.value
        from focus_rows r
        semi join (select unnest(k.keys, recursive := true) from (
            select list(distinct {'meter_id': meter_id, 'channel': channel}) as keys from fallback
        ) k) k on k.meter_id = r.meter_id and k.channel = r.channel
        where r.is_ctx
    ) r
    anti join (select * from row_verdicts where is_bad) v using (meter_id, channel, interval_start)
),

far as (
    select meter_id, channel, interval_start, prev_ts, prev_value, next_ts, next_value
    from (
        select
            *,
            last_value(read_ts ignore nulls) over before_row as prev_ts,
            last_value(value ignore nulls) over before_row as prev_value,
            first_value(read_ts ignore nulls) over after_row as next_ts,
            first_value(value ignore nulls) over after_row as next_value
        from (
            select meter_id, channel, interval_start, cast(null as timestamp) as read_ts,
                   cast(null as decimal(18, 3)) as value, false as is_read
            from fallback
            union all
            select meter_id, channel, interval_start, interval_start, value, true from far_ctx
        )
        window
            before_row as (partition by meter_id, channel order by interval_start
                           rows between unbounded preceding and 1 preceding),
            after_row as (partition by meter_id, channel order by interval_start
                          rows between 1 following and unbounded following)
    )
    where not is_read
),

estimates as (
    select
        f.meter_id, f.channel, f.interval_start,
        case
            when f.gap_intervals <= p.max_interp then 'linear_interpolation'
            when f.like_average is not null then 'like_day_average'
            when (r.prev_ts is null) <> (r.next_ts is null) then 'flat_fill'
            else 'none'
        end as method,
        -- exact decimals from here on: day sums and proration must not depend on summation order
        cast(case
            when f.gap_intervals <= p.max_interp then round(
                f.prev_value + (f.next_value - f.prev_value) * (-f.prev_k) / (f.gap_intervals + 1), 3)
            when f.like_average is not null then round(f.like_average, 3)
            when (r.prev_ts is null) <> (r.next_ts is null) then coalesce(r.prev_value, r.next_value)
        end as decimal(18, 3)) as estimate
    from first_pass f
    cross join params p
    left join far r using (meter_id, channel, interval_start)
)
{%- endmacro %}
