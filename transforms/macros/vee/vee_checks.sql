{#- VEE stage checks (1/6): day-level flags of the read range.
    Takes: day_stats (duplicates), meters, params, rules (inputs), dim_calendar, vee_register_days.
    Gives the CTEs: day_flags (day_stats + master data, day type and the day's suspect flags:
    negative, zero, spike candidate, multiplier mismatch), like_pool (days a like-day value may
    come from), usage (high / low daily usage: the day total and the median of the previous clean
    same-type days) and registers (whole-day register deltas of the read range). -#}
{% macro vee_day_checks() -%}
day_flags as materialized (
    select
        d.*,
        m.customer_id, m.interval_minutes, m.multiplier as master_multiplier, m.physical_max,
        1440 // m.interval_minutes as expected_n,
        rules.on_negative and d.n_negative > 0 as has_negative,
        rules.on_stuck and d.n_zero > 0 as has_zero,
        rules.on_spike and coalesce(d.max_value > m.physical_max, false) as has_spike_candidate,
        rules.on_mult and coalesce(d.min_multiplier <> m.multiplier
                                   or d.max_multiplier <> m.multiplier, false) as has_mult_mismatch,
        c.day_type
    from day_stats d
    join meters m on m.meter_id = d.meter_id and d.day between m.valid_from and m.valid_to
    join {{ ref('dim_calendar') }} c on c.day = d.day
    cross join rules
),

-- days a like-day value may come from: complete, no negative, spike candidate or multiplier
-- problem (days with estimates never qualify; days with a zero run — a possible outage — only
-- when no other like-day exists, see like_choice)
like_pool as (
    select meter_id, channel, day, day_type, total, n_zero
    from day_flags
    where n = expected_n and n_negative = 0
      and coalesce(max_value <= physical_max, true)
      and coalesce(min_multiplier = master_multiplier and max_multiplier = master_multiplier, true)
),

-- high / low daily usage: a complete clean day against the median of the previous clean days of
-- the same day type (usage_history days back, never beyond the read range)
usage as (
    select
        meter_id, channel, day, total,
        median(total) over w as baseline,
        count(*) over w as n_history
    from like_pool, params p
    where n_zero < p.zero_min_run
    window w as (
        partition by meter_id, channel, day_type order by day
        range between to_days((select usage_history from params)) preceding and interval 1 day preceding
    )
),

-- register deltas of whole days (consecutive 00:00 reads) in the read range
registers as (
    select r.meter_id, r.channel, r.reading_date as day, r.primary_delta, r.multiplier as register_multiplier
    from {{ ref('vee_register_days') }} r, params p
    where r.reading_date >= p.ws - p.like_window and r.reading_date < p.we + p.like_window
      and r.event in ('normal', 'rollover') and r.days_covered = 1
      and hour(r.read_at) = 0 and minute(r.read_at) = 0
)
{%- endmacro %}

{#- VEE stage checks (2/6): the expected meter-days of the window and which are candidates.
    Takes: day_flags, usage, registers (day checks), edit_days (edits), meters, params, rules.
    Gives the CTEs: channels, last_day, window_days (every expected meter-day of the window with
    its day verdicts: suspect flags, sum check on the raw total, high and low usage, an edit),
    window_verdicts (+ is_candidate: incomplete, a suspect value, an edit or a failed day check)
    and cand_days (the candidate days; every other day streams straight to the output). -#}
{% macro vee_candidate_days() -%}
channels as (
    select meter_id, channel, min(day) as first_day from day_flags group by all
),

last_day as (
    select max(day) as d from day_flags
),

-- the expected meter-days of the window, with every day-level verdict
window_days as (
    select
        s.*,
        f.n, f.total, f.day_type,
        coalesce(f.has_negative, false) as has_negative,
        coalesce(f.has_zero, false) as has_zero,
        coalesce(f.has_spike_candidate, false) as has_spike_candidate,
        coalesce(f.has_mult_mismatch, false) as has_mult_mismatch,
        r.primary_delta, r.register_multiplier,
        coalesce(rules.on_high and u.n_history >= p.usage_min_history
                 and u.total > p.usage_high * u.baseline, false) as is_high_usage,
        coalesce(rules.on_low and u.n_history >= p.usage_min_history
                 and u.total < p.usage_low * u.baseline, false) as is_low_usage,
        coalesce(rules.on_sum and abs(f.total - r.primary_delta)
                     > greatest(p.sum_tolerance * abs(r.primary_delta),
                                p.register_resolution * r.register_multiplier), false)
            as raw_sum_fails,
        e.day is not null as has_edit
    from (
        select
            ch.meter_id, ch.channel, m.customer_id, m.interval_minutes,
            1440 // m.interval_minutes as expected_n,
            cast(unnest(generate_series(
                greatest(p.ws, m.valid_from, ch.first_day)::timestamp,
                least(p.we - 1, m.valid_to, l.d)::timestamp,
                interval 1 day
            )) as date) as day
        from channels ch
        join meters m on m.meter_id = ch.meter_id
        cross join params p
        cross join last_day l
    ) s
    cross join params p
    cross join rules
    left join day_flags f using (meter_id, channel, day)
    left join registers r using (meter_id, channel, day)
    left join usage u using (meter_id, channel, day)
    left join edit_days e using (meter_id, channel, day)
),

window_verdicts as materialized (
    select
        *,
        coalesce(n, 0) <> expected_n or has_negative or has_zero or has_spike_candidate
            or has_mult_mismatch or has_edit or raw_sum_fails or is_high_usage or is_low_usage
            as is_candidate
    from window_days
),

cand_days as (
    select * from window_verdicts where is_candidate
)
{%- endmacro %}

{#- VEE stage checks (3/6): interval-level suspects, zero runs and missing intervals.
    Takes: versions (duplicates), day_flags (day checks), cand_days (candidate days), params, rules.
    Gives the CTEs: focus_days, focus_rows (the versions of candidate days ± 1, is_ctx, and of
    days with a suspect value, is_suspect), suspects (rows with a value ≤ 0, above physical_max
    or a multiplier other than master data; checked_value is the multiplier-rescaled value),
    suspect_flags (+ is_negative, is_zero, is_spike_candidate), zero_islands, zero_members (rows
    of zero runs ≥ zero_run_min_intervals) and cand_read (every expected interval of the candidate
    days with what was read: raw_value NULL is a missing interval). -#}
{% macro vee_row_checks() -%}
-- rows to look at: candidate days ± 1 (estimation neighbours) and every read-range day with a
-- suspect value (for spike and zero-run verdicts and like-day eligibility)
focus_days as (
    select meter_id, channel, day, bool_or(is_ctx) as is_ctx, bool_or(is_suspect) as is_suspect
    from (
        select c.meter_id, c.channel, c.day + cast(k.range as integer) as day,
               true as is_ctx, false as is_suspect
        from cand_days c cross join range(-1, 2) k
        union all
        select meter_id, channel, day, false, true
        from day_flags
        where has_negative or has_zero or has_spike_candidate or has_mult_mismatch
    )
    group by all
),

focus_rows as materialized (
    select v.*, f.is_ctx, f.is_suspect
    from versions v
    join focus_days f
        on f.meter_id = v.meter_id and f.channel = v.channel
       and f.day = cast(v.interval_start as date)
),

suspects as materialized (
    select
        r.meter_id, r.channel, r.interval_start, r.value, r.file_multiplier, d.interval_minutes,
        d.master_multiplier, d.physical_max,
        rules.on_mult and r.file_multiplier is not null
            and r.file_multiplier <> d.master_multiplier as mult_mismatch,
        coalesce(r.file_multiplier > 0, false) as can_rescale,
        case when rules.on_mult and r.file_multiplier > 0 and r.file_multiplier <> d.master_multiplier
             then cast(round(r.value * d.master_multiplier / r.file_multiplier, 3) as decimal(18, 3))
             else r.value end as checked_value
    from focus_rows r
    join day_flags d
        on d.meter_id = r.meter_id and d.channel = r.channel
       and d.day = cast(r.interval_start as date)
    cross join rules
    where r.is_suspect
      and (r.value <= 0 or r.value > d.physical_max or r.file_multiplier <> d.master_multiplier)
),

suspect_flags as materialized (
    select
        s.*,
        rules.on_negative and s.checked_value < 0 as is_negative,
        rules.on_stuck and s.checked_value = 0 as is_zero,
        rules.on_spike and coalesce(s.checked_value > s.physical_max, false) as is_spike_candidate
    from suspects s cross join rules
),

-- zero runs: gaps-and-islands over the zero rows only
zero_islands as (
    select
        meter_id, channel, interval_start,
        epoch(interval_start)::bigint // (60 * interval_minutes)
            - row_number() over (partition by meter_id, channel order by interval_start) as island
    from suspect_flags
    where is_zero
),

zero_members as materialized (
    select z.meter_id, z.channel, z.interval_start, z.island
    from zero_islands z
    semi join (
        select meter_id, channel, island
        from zero_islands, params p
        group by meter_id, channel, island, p.zero_min_run
        having count(*) >= p.zero_min_run
    ) r using (meter_id, channel, island)
),

-- the expected intervals of the candidate days, with what was read
cand_read as materialized (
    select
        g.*,
        r.value as raw_value, r.n_rows, r.has_conflict, r.version_key
    from (
        select
            c.meter_id, c.channel, c.customer_id, c.interval_minutes, c.day,
            c.primary_delta, c.register_multiplier, c.is_high_usage, c.is_low_usage,
            unnest(generate_series(
                c.day::timestamp,
                c.day::timestamp + interval 1 day - to_minutes(c.interval_minutes),
                to_minutes(c.interval_minutes)
            )) as interval_start
        from cand_days c
    ) g
    left join focus_rows r
        on r.meter_id = g.meter_id and r.channel = g.channel and r.interval_start = g.interval_start
       and r.is_ctx
)
{%- endmacro %}

{#- VEE stage checks (4/6): the spike rule.
    Takes: suspect_flags, like_stats.spike_median (like-days), day_flags, registers, params.
    Gives the CTE spikes: the intervals failing spike (above physical_max and above
    spike_median_factor × the like-day median, and the day's register delta does not confirm
    the day's read total). -#}
{% macro vee_spike_rule() -%}
-- spike: above the physical maximum AND above k × the median of the nearest like-day intervals
-- (a real overload, as in a capacity audit, is above kVA but close to its like-days)
-- ... unless the day's register delta confirms the day's read total: then the energy was used
spikes as (
    select s.meter_id, s.channel, s.interval_start
    from suspect_flags s
    cross join params p
    left join like_stats l using (meter_id, channel, interval_start)
    where s.is_spike_candidate
      and (l.spike_median is null or s.checked_value > p.spike_median_factor * l.spike_median)
      and not exists (
          select 1
          from day_flags f
          join registers r using (meter_id, channel, day)
          where f.meter_id = s.meter_id and f.channel = s.channel
            and f.day = cast(s.interval_start as date)
            and abs(f.total - r.primary_delta)
                <= greatest(p.sum_tolerance * abs(r.primary_delta),
                            p.register_resolution * r.register_multiplier)
      )
)
{%- endmacro %}

{#- VEE stage checks (5/6): the stuck-zero rule.
    Takes: zero_members (row checks), like_stats.zero_median (like-days).
    Gives the CTE stuck: the intervals of zero runs whose like-day median is above zero at every
    slot of the run. -#}
{% macro vee_stuck_zero_rule() -%}
-- stuck zero: a zero run where the like-day median is above zero at every one of its slots (a
-- premise that usually reads zero at some of those slots — vacant, or off at night — is not stuck)
stuck as (
    select z.meter_id, z.channel, z.interval_start
    from zero_members z
    semi join (
        select z.meter_id, z.channel, z.island
        from zero_members z
        left join like_stats l using (meter_id, channel, interval_start)
        group by all
        having count(*) filter (where l.zero_median > 0) = count(*)
    ) r using (meter_id, channel, island)
)
{%- endmacro %}

{#- VEE stage checks (6/6): the verdicts of every suspect row.
    Takes: suspect_flags, spikes, stuck.
    Gives the CTE row_verdicts: per suspect row mult_mismatch, can_rescale, checked_value,
    is_negative, f_spike, f_stuck and is_bad (failed a rule: never an actual neighbour). -#}
{% macro vee_row_verdicts() -%}
-- every suspect row with its verdicts
row_verdicts as materialized (
    select
        s.meter_id, s.channel, s.interval_start, s.mult_mismatch, s.can_rescale, s.checked_value,
        s.is_negative,
        sp.interval_start is not null as f_spike,
        st.interval_start is not null as f_stuck,
        s.is_negative or s.mult_mismatch or sp.interval_start is not null
            or st.interval_start is not null as is_bad
    from suspect_flags s
    left join spikes sp using (meter_id, channel, interval_start)
    left join stuck st using (meter_id, channel, interval_start)
)
{%- endmacro %}
