{#- VEE stage duplicates: one version per landed interval.
    Takes: reads (vee_inputs).
    Gives the CTEs: day_raw (per meter, channel and day of the read range: row count, slot count
    and the day-level stats), dup_days (days with an interval landed twice), versions (one row per
    landed interval: the latest version wins; n_rows, has_conflict, value, file_multiplier,
    version_key) and day_stats (per meter, channel and day over versions: n, total, negatives,
    zeros, max value, multiplier range). -#}
{% macro vee_duplicates() -%}
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
)
{%- endmacro %}
