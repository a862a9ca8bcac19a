{%- set as_of = var('as_of', none) -%}
{%- set run_date = as_of if as_of is not none else modules.datetime.date.today().isoformat() -%}
{#- The read range (window ± like_day_window_days) as literals, so the scan of raw.interval_reads
    is pruned by its zone maps instead of reading all history. -#}
{%- set lookback = 21 -%}
{%- if execute -%}
    {%- set seed = ref('vee_parameters') -%}
    {%- if adapter.get_relation(seed.database, seed.schema, seed.identifier) is not none -%}
        {%- set found = run_query(
            "select arg_max(value, valid_from) from " ~ seed
            ~ " where parameter = 'like_day_window_days'"
            ~ " and valid_from <= greatest(" ~ window_start() ~ ", (select min(valid_from) from "
            ~ seed ~ "))") -%}
        {%- if found.columns[0].values()[0] is not none -%}
            {%- set lookback = found.columns[0].values()[0] | int -%}
        {%- endif -%}
    {%- endif -%}
{%- endif -%}
{{ config(
    materialized=('table' if as_of is not none else 'incremental'),
    alias=('int_interval_validated_as_of' if as_of is not none else 'int_interval_validated'),
    incremental_strategy='append',
    pre_hook=[
        "{% if is_incremental() %}alter table {{ this }} add column if not exists failed_rules varchar;"
        " alter table {{ this }} add column if not exists prorated boolean{% endif %}",
        "{{ delete_window('reading_date') }}",
    ],
    tags=['daily'],
) }}
{#- Landed rows of the read range, for exact-key look-ups straight from raw.interval_reads: the
    optimizer knows a base table's size and hashes the few keys, not the big side. -#}
{#- Small key sets joined to raw.interval_reads go through one list and unnest: the optimizer's
    row estimate of a chain of CTE joins can exceed the raw table's and make it hash the big
    side; an unnested single-row list is estimated small, so the keys are hashed. -#}
{%- set keys_of -%}
    (select unnest(k.keys, recursive := true) from (
        select list(distinct {'meter_id': meter_id, 'channel': channel, 'KEY': KEY}) as keys
        from RELATION) k)
{%- endset -%}
{%- set raw_in_range -%}
    r.interval_start >= {{ window_start() }} - {{ lookback }}
    and r.interval_start < {{ window_end() }} + {{ lookback }}
    and (r.interval_start < cast('{{ run_date }}' as date) + 1 or not (select on_future from rules))
    {%- if as_of is not none %}
    and r.file_id in (select file_id from ledger_known)
    {%- endif %}
{%- endset -%}
{#- The latest landed version of each interval in a small key set (RELATION's meter_id, channel
    and KEY), read by exact key from raw.interval_reads: neighbours and like-day values. -#}
{%- set latest_of -%}
    select r.meter_id, r.channel, r.interval_start as KEY,
           arg_max(r.value, {{ version_key('r') }}) as value
    from {{ source('raw', 'interval_reads') }} r
    semi join {{ keys_of }} k
        on k.meter_id = r.meter_id and k.channel = r.channel and k.KEY = r.interval_start
    where {{ raw_in_range }}
    group by r.meter_id, r.channel, r.interval_start
{%- endset -%}
-- Validated consumption (VEE, domain.md §8): one row per meter, channel and expected interval in
-- the window, with a quality flag, the estimation method, every rule it failed, the pre-VEE value
-- and the read version (ledger file id + row) it came from. Rules and thresholds are data
-- (seeds vee_rules, vee_parameters, in force on the window's first day).
--
-- Speed: the whole window is aggregated once, per meter-day (versions per interval only on the
-- days where an interval was landed twice);
-- everything else touches only "candidate" meter-days (incomplete, a suspect value, an edit, a
-- failed day check) and the few rows around them. Clean days stream straight to the output.
--
-- The dbt var `as_of` (a date, default today) is the run date: reads for a later day are
-- future_timestamp. Set explicitly, it turns this model into an as-of rebuild ("what did we know
-- at the end of day D"): only ledger files and manual edits ingested by then are used, and the
-- rows go to int_interval_validated_as_of (vee_register_days_as_of must be built in the same
-- invocation), never to the production table.
--
-- Columns (the first ones are read by settlement, alerts, bills and workflows; keep them):
--   meter_id, customer_id, channel, interval_start, reading_date, interval_minutes
--   value          validated energy, decimal(18,3); NULL only when FAILED
--   raw_value      the pre-VEE value of the winning version (NULL when missing)
--   quality_flag   ACTUAL | ESTIMATED | EDITED | FAILED
--   method         actual | linear_interpolation | like_day_average | flat_fill |
--                  multiplier_rescale | manual_edit | none (FAILED)
--   failed_rule    the primary (first) rule of failed_rules
--   failed_rules   every rule the interval (or its day) failed, ';'-joined in vee_rules priority:
--                  future_timestamp, missing, multiplier_mismatch, negative, spike, stuck_zero,
--                  sum_check, high_daily_usage, low_daily_usage (day rules warn only)
--   duplicate_rows extra landed rows for the interval; has_conflict: they differed
--   version        ledger file id of the value (read file, or edit file when EDITED);
--                  source_row its line. 0 when no read was landed (an estimate or FAILED:
--                  method says how the value was made); source_row is then NULL.
--   prorated       the estimate was scaled so the day matches its register delta × multiplier

with params as (
    select
        {{ window_start() }} as ws,
        {{ window_end() }} as we,
        cast('{{ run_date }}' as date) + 1 as future_from,
        max(value) filter (where parameter = 'max_interpolation_intervals')::int as max_interp,
        {{ lookback }} as like_window,
        max(value) filter (where parameter = 'like_days')::int as like_days,
        max(value) filter (where parameter = 'spike_physical_factor') as spike_factor,
        max(value) filter (where parameter = 'spike_median_factor') as spike_median_factor,
        max(value) filter (where parameter = 'spike_like_days')::int as spike_like_days,
        max(value) filter (where parameter = 'zero_run_min_intervals')::int as zero_min_run,
        max(value) filter (where parameter = 'zero_run_like_days')::int as zero_like_days,
        max(value) filter (where parameter = 'sum_check_tolerance') as sum_tolerance,
        max(value) filter (where parameter = 'register_resolution') as register_resolution,
        max(value) filter (where parameter = 'prorate_max_register_uncertainty') as prorate_uncertainty,
        max(value) filter (where parameter = 'prorate_max_factor') as prorate_max_factor,
        least(max(value) filter (where parameter = 'usage_history_days'),
              max(value) filter (where parameter = 'like_day_window_days'))::int as usage_history,
        max(value) filter (where parameter = 'usage_min_history_days')::int as usage_min_history,
        max(value) filter (where parameter = 'usage_high_factor') as usage_high,
        max(value) filter (where parameter = 'usage_low_factor') as usage_low
    from {{ rows_in_force_at_window_start(ref('vee_parameters')) }}
),

rule_rows as (
    select r.rule, r.enabled = 1 as is_on, r.priority
    from {{ rows_in_force_at_window_start(ref('vee_rules')) }} r
),

rules as (
    select
        coalesce(bool_or(is_on) filter (where rule = 'future_timestamp'), true) as on_future,
        coalesce(bool_or(is_on) filter (where rule = 'multiplier_mismatch'), true) as on_mult,
        coalesce(bool_or(is_on) filter (where rule = 'negative'), true) as on_negative,
        coalesce(bool_or(is_on) filter (where rule = 'spike'), true) as on_spike,
        coalesce(bool_or(is_on) filter (where rule = 'stuck_zero'), true) as on_stuck,
        coalesce(bool_or(is_on) filter (where rule = 'sum_check'), true) as on_sum,
        coalesce(bool_or(is_on) filter (where rule = 'high_daily_usage'), true) as on_high,
        coalesce(bool_or(is_on) filter (where rule = 'low_daily_usage'), true) as on_low,
        coalesce(max(priority) filter (where rule = 'future_timestamp'), 1) as pr_future,
        coalesce(max(priority) filter (where rule = 'missing'), 2) as pr_missing,
        coalesce(max(priority) filter (where rule = 'multiplier_mismatch'), 3) as pr_mult,
        coalesce(max(priority) filter (where rule = 'negative'), 4) as pr_negative,
        coalesce(max(priority) filter (where rule = 'spike'), 5) as pr_spike,
        coalesce(max(priority) filter (where rule = 'stuck_zero'), 6) as pr_stuck,
        coalesce(max(priority) filter (where rule = 'sum_check'), 7) as pr_sum,
        coalesce(max(priority) filter (where rule = 'high_daily_usage'), 8) as pr_high,
        coalesce(max(priority) filter (where rule = 'low_daily_usage'), 9) as pr_low
    from rule_rows
),

meters as (
    select
        m.meter_id, m.customer_id, m.interval_minutes, m.multiplier, m.valid_from,
        coalesce(m.valid_to, date '9999-12-31') as valid_to,
        c.contract_capacity_kva * m.interval_minutes / 60.0 * p.spike_factor as physical_max
    from {{ ref('stg_metering_points') }} m
    left join {{ ref('stg_customers') }} c
        on c.customer_id = m.customer_id and c.valid_to is null
    cross join params p
),

ledger_known as (
    select file_id from {{ source('raw', 'file_ledger') }}
    {% if as_of is not none %} where ingested_at < cast('{{ run_date }}' as date) + 1 {% endif %}
),

-- every landed row in the window ± like_window (neighbours and like-days live there)
reads as (
    select r.meter_id, r.channel, r.interval_start, r.value, r.multiplier,
           {{ version_key('r') }} as version_key
    from {{ source('raw', 'interval_reads') }} r, params p, rules
    where r.interval_start >= {{ window_start() }} - {{ lookback }}
      and r.interval_start < {{ window_end() }} + {{ lookback }}
      and (r.interval_start < p.future_from or not rules.on_future)
    {% if as_of is not none %} and r.file_id in (select file_id from ledger_known) {% endif %}
),

-- One pass over the landed rows, per meter, channel and day: the day-level stats, and whether
-- any interval of the day was landed more than once. A day's rows are all distinct intervals
-- when their count equals the number of distinct quarter-hour slots they cover (a 96-bit slot
-- mask; two rows in one slot, even of different timestamps, send the day down the exact path).
day_raw as materialized (
    select
        meter_id, channel, cast(interval_start as date) as day,
        count(*) as n_rows,
        bit_count(bit_or(cast(1 as hugeint)
                         << ((hour(interval_start) * 60 + minute(interval_start)) // 15))) as n_slots,
        sum(value) as total,
        count(*) filter (where value < 0) as n_negative,
        count(*) filter (where value = 0) as n_zero,
        max(value) as max_value,
        min(multiplier) as min_multiplier,
        max(multiplier) as max_multiplier
    from reads
    group by all
),

dup_days as (
    select meter_id, channel, day from day_raw where n_rows <> n_slots
),

-- identical duplicates collapse; conflicting versions: the latest file (then row) wins.
-- version_key = file_id × 10^9 + source_row: the ledger file and the line the value came from.
-- Only the days with a repeated interval are aggregated per interval; on every other day each
-- landed row is its interval's only version.
versions as materialized (
    select
        r.meter_id, r.channel, r.interval_start,
        1 as n_rows,
        false as has_conflict,
        r.value,
        r.multiplier as file_multiplier,
        r.version_key
    from reads r
    anti join dup_days d
        on d.meter_id = r.meter_id and d.channel = r.channel
       and d.day = cast(r.interval_start as date)
    union all
    select
        r.meter_id, r.channel, r.interval_start,
        count(*) as n_rows,
        min(r.value) <> max(r.value) as has_conflict,
        arg_max(r.value, r.version_key) as value,
        arg_max(r.multiplier, r.version_key) as file_multiplier,
        max(r.version_key) as version_key
    from reads r
    semi join dup_days d
        on d.meter_id = r.meter_id and d.channel = r.channel
       and d.day = cast(r.interval_start as date)
    group by r.meter_id, r.channel, r.interval_start
),

-- one row per meter, channel and day of the read range: what the day-level rules need
day_stats as (
    select
        meter_id, channel, day, n_rows as n, total, n_negative, n_zero, max_value,
        min_multiplier, max_multiplier
    from day_raw
    where n_rows = n_slots
    union all
    select
        v.meter_id, v.channel, cast(v.interval_start as date) as day,
        count(*) as n,
        sum(v.value) as total,
        count(*) filter (where v.value < 0) as n_negative,
        count(*) filter (where v.value = 0) as n_zero,
        max(v.value) as max_value,
        min(v.file_multiplier) as min_multiplier,
        max(v.file_multiplier) as max_multiplier
    from versions v
    semi join dup_days d
        on d.meter_id = v.meter_id and d.channel = v.channel
       and d.day = cast(v.interval_start as date)
    group by all
),

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
),

-- manual edits (assets/manual_edits.py); a warehouse not yet ingested since they exist has none
edits_in_window as (
    {%- set edits = source('raw', 'manual_edits') %}
    {%- if execute and adapter.get_relation(edits.database, edits.schema, edits.identifier) is not none %}
    select
        e.meter_id, e.channel, e.interval_start,
        arg_max(e.value, {{ version_key('e') }}) as edit_value,
        max({{ version_key('e') }}) as edit_key
    from {{ edits }} e, params p
    where e.interval_start >= p.ws and e.interval_start < p.we
      and e.interval_start < p.future_from
      and e.file_id in (select file_id from ledger_known)
    group by all
    {%- else %}
    select
        cast(null as varchar) as meter_id, cast(null as varchar) as channel,
        cast(null as timestamp) as interval_start, cast(null as decimal(18, 3)) as edit_value,
        cast(null as bigint) as edit_key
    where false
    {%- endif %}
),

edit_days as (
    select distinct meter_id, channel, cast(interval_start as date) as day from edits_in_window
),

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
),

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
),

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
{{ latest_of.replace('RELATION', 'like_keys').replace('KEY', 'like_start') }}
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
),

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
),

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
),

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
),

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
{{ latest_of.replace('RELATION', 'near_keys').replace('KEY', 'read_start') }}
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
),

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
),

-- everything that changes a candidate interval, one row per interval: rule verdicts, estimate,
-- manual edit (one join into the candidate grid instead of three)
patches as materialized (
    select
        coalesce(v.meter_id, e.meter_id, ed.meter_id) as meter_id,
        coalesce(v.channel, e.channel, ed.channel) as channel,
        coalesce(v.interval_start, e.interval_start, ed.interval_start) as interval_start,
        v.mult_mismatch, v.can_rescale, v.checked_value, v.is_negative, v.f_spike, v.f_stuck,
        e.method as estimate_method, e.estimate,
        ed.edit_value, ed.edit_key
    from (
        select v.* from row_verdicts v, params p
        where v.interval_start >= p.ws and v.interval_start < p.we
    ) v
    full join estimates e
        on e.meter_id = v.meter_id and e.channel = v.channel and e.interval_start = v.interval_start
    full join edits_in_window ed
        on ed.meter_id = coalesce(v.meter_id, e.meter_id) and ed.channel = coalesce(v.channel, e.channel)
       and ed.interval_start = coalesce(v.interval_start, e.interval_start)
),

decided as (
    select
        c.*,
        c.raw_value is null as f_missing,
        coalesce(x.mult_mismatch, false) as mult_mismatch,
        coalesce(x.checked_value, c.raw_value) as checked_value,
        coalesce(x.is_negative, false) as is_negative,
        coalesce(x.f_spike, false) as f_spike,
        coalesce(x.f_stuck, false) as f_stuck,
        x.estimate_method,
        x.estimate,
        x.edit_value,
        x.edit_key,
        coalesce(x.edit_key > coalesce(c.version_key, 0), false) as is_edited,
        x.estimate_method is null and coalesce(x.mult_mismatch, false) as is_rescaled,
        coalesce(x.estimate_method in ('linear_interpolation', 'like_day_average', 'flat_fill'), false)
            as is_proratable
    from cand_read c
    left join patches x using (meter_id, channel, interval_start)
),

pre_values as (
    select
        *,
        case
            when is_edited then edit_value
            when estimate_method is not null then estimate
            when is_rescaled then checked_value
            else raw_value
        end as pre_value,
        case
            when is_edited then 'EDITED'
            when estimate_method = 'none' then 'FAILED'
            when estimate_method is not null or is_rescaled then 'ESTIMATED'
            else 'ACTUAL'
        end as quality_flag
    from decided
),

-- where a register delta exists, prorate the estimates so the day matches ΔR × multiplier,
-- unless the register is too coarse for the energy to distribute or the factor is implausible
day_totals as (
    select
        meter_id, channel, day,
        any_value(primary_delta) as primary_delta,
        any_value(register_multiplier) as register_multiplier,
        sum(pre_value) filter (where quality_flag = 'ESTIMATED' and is_proratable and not is_edited)
            as estimated_sum,
        coalesce(sum(pre_value) filter (where not (quality_flag = 'ESTIMATED' and is_proratable)), 0)
            as fixed_sum,
        bool_or(quality_flag = 'FAILED') as any_failed
    from pre_values
    group by all
),

day_checks as (
    select
        d.*,
        f.factor,
        d.fixed_sum + coalesce(d.estimated_sum * f.factor, d.estimated_sum, 0) as validated_sum,
        rules.on_sum and d.primary_delta is not null and not d.any_failed
            and abs(d.fixed_sum + coalesce(d.estimated_sum * f.factor, d.estimated_sum, 0) - d.primary_delta)
                > greatest(p.sum_tolerance * abs(d.primary_delta), p.register_resolution * d.register_multiplier)
            as sum_fails
    from day_totals d
    cross join params p
    cross join rules
    cross join lateral (
        select case
            when d.primary_delta is not null and not d.any_failed and d.estimated_sum > 0
             and d.primary_delta - d.fixed_sum > 0
             and p.register_resolution * d.register_multiplier
                 <= p.prorate_uncertainty * (d.primary_delta - d.fixed_sum)
             and (d.primary_delta - d.fixed_sum) / d.estimated_sum
                 between 1.0 / p.prorate_max_factor and p.prorate_max_factor
            then (d.primary_delta - d.fixed_sum) / d.estimated_sum
        end as factor
    ) f
),

cand_out as (
    select
        v.meter_id, v.customer_id, v.channel, v.interval_start, v.interval_minutes,
        case
            when v.quality_flag = 'ESTIMATED' and v.is_proratable and dc.factor is not null
                then round(v.pre_value * dc.factor, 3)
            else v.pre_value
        end as value,
        v.raw_value,
        v.quality_flag,
        case
            when v.is_edited then 'manual_edit'
            when v.estimate_method is not null then v.estimate_method
            when v.is_rescaled then 'multiplier_rescale'
            else 'actual'
        end as method,
        list_transform(list_sort(list_filter([
            case when v.f_missing then {'p': rules.pr_missing, 'r': 'missing'} end,
            case when v.mult_mismatch then {'p': rules.pr_mult, 'r': 'multiplier_mismatch'} end,
            case when v.is_negative then {'p': rules.pr_negative, 'r': 'negative'} end,
            case when v.f_spike then {'p': rules.pr_spike, 'r': 'spike'} end,
            case when v.f_stuck then {'p': rules.pr_stuck, 'r': 'stuck_zero'} end,
            case when dc.sum_fails then {'p': rules.pr_sum, 'r': 'sum_check'} end,
            case when v.is_high_usage then {'p': rules.pr_high, 'r': 'high_daily_usage'} end,
            case when v.is_low_usage then {'p': rules.pr_low, 'r': 'low_daily_usage'} end
        ], x -> x is not null)), x -> x.r) as rule_list,
        v.n_rows, v.has_conflict,
        case when v.is_edited then v.edit_key else v.version_key end as version_key,
        v.quality_flag = 'ESTIMATED' and v.is_proratable and dc.factor is not null as prorated
    from pre_values v
    cross join rules
    left join day_checks dc using (meter_id, channel, day)
),

future_out as (
    select
        r.meter_id, m.customer_id, r.channel, r.interval_start, m.interval_minutes,
        cast(null as decimal(18, 3)) as value,
        arg_max(r.value, {{ version_key('r') }}) as raw_value,
        'FAILED' as quality_flag, 'none' as method,
        count(*) as n_rows,
        min(r.value) <> max(r.value) as has_conflict,
        max({{ version_key('r') }}) as version_key,
        false as prorated
    from {{ source('raw', 'interval_reads') }} r
    cross join params p
    cross join rules
    join meters m
        on m.meter_id = r.meter_id and cast(r.interval_start as date) between m.valid_from and m.valid_to
    where rules.on_future and r.interval_start >= p.future_from
      and r.interval_start >= p.ws and r.interval_start < p.we
      and r.file_id in (select file_id from ledger_known)
    group by r.meter_id, m.customer_id, r.channel, r.interval_start, m.interval_minutes
),

final as (
    -- clean days: every expected interval was read once or identically, nothing failed
    select
        v.meter_id, w.customer_id, v.channel, v.interval_start, w.interval_minutes,
        v.value, v.value as raw_value, 'ACTUAL' as quality_flag, 'actual' as method,
        cast(null as varchar) as failed_rule, cast(null as varchar) as failed_rules,
        v.n_rows, v.has_conflict, v.version_key, false as prorated
    from versions v
    join window_verdicts w
        on w.meter_id = v.meter_id and w.channel = v.channel
       and w.day = cast(v.interval_start as date)
    where not w.is_candidate
    union all
    select
        meter_id, customer_id, channel, interval_start, interval_minutes,
        value, raw_value, quality_flag, method,
        rule_list[1], nullif(array_to_string(rule_list, ';'), ''),
        n_rows, has_conflict, version_key, prorated
    from cand_out
    union all
    select
        meter_id, customer_id, channel, interval_start, interval_minutes,
        value, raw_value, quality_flag, method,
        'future_timestamp', 'future_timestamp',
        n_rows, has_conflict, version_key, prorated
    from future_out
)

-- channel, quality_flag and method are ENUMs (compared and printed like text): 60 M rows of
-- them are written several times faster than VARCHAR.
select
    meter_id,
    customer_id,
    cast(channel as enum('kwh_imp', 'kvarh_imp')) as channel,
    interval_start,
    cast(interval_start as date) as reading_date,
    cast(interval_minutes as smallint) as interval_minutes,
    cast(value as decimal(18, 3)) as value,
    raw_value,
    cast(quality_flag as enum('ACTUAL', 'ESTIMATED', 'EDITED', 'FAILED')) as quality_flag,
    cast(method as enum('actual', 'linear_interpolation', 'like_day_average', 'flat_fill',
                        'multiplier_rescale', 'manual_edit', 'none')) as method,
    failed_rule,
    failed_rules,
    cast(coalesce(n_rows, 1) - 1 as integer) as duplicate_rows,
    coalesce(has_conflict, false) as has_conflict,
    cast(coalesce({{ version_of('version_key') }}, 0) as bigint) as version,
    cast({{ source_row_of('version_key') }} as bigint) as source_row,
    prorated
from final
