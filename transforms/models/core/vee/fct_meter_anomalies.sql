{#- table core.meter_anomalies (alias: the table name and asset key predate the fct_ prefix) -#}
{{ config(
    materialized='incremental',
    alias='meter_anomalies',
    incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}",
    tags=['monthly', 'quality'],
) }}
-- Meter anomaly alerts, one row per meter, month and anomaly (thresholds: vee_parameters
-- anomaly_*). marts.alerts turns each row into a meter_anomaly alert whose rule is notice_check
-- (the check names the notice templates know).
--   stuck_meter          stuck_zero intervals ≥ anomaly_stuck_min_intervals
--   reads_stopped        the month's last anomaly_stop_min_hours (or more) have no read at all
--   clock_drift          misaligned timestamps quarantined at ingestion + future-stamped reads
--                        ≥ anomaly_clock_min_rows
--   repeated_<rule>      negative, spike, multiplier_mismatch: ≥ anomaly_repeat_min_intervals
--                        intervals; sum_check, high/low_daily_usage: on ≥ that many days
--   register_reset       a register went back without rolling over (meter change or reset)
--   repeated_conflicts   intervals with conflicting versions ≥ anomaly_conflict_min_intervals
--   replaced_spike_over_capacity
--                        an interval failing spike whose read demand (raw kWh × 60 / interval
--                        minutes) is above the customer's contract kVA and that VEE replaced
--                        (ESTIMATED or FAILED; an approved manual edit, EDITED, ends it): always,
--                        from one interval (threshold = the contract kVA). A genuine overload
--                        with no register read to confirm it must never vanish silently
--                        (issue 9); the detail gives the read and validated maxima side by side.

with params as (
    select
        max(value) filter (where parameter = 'anomaly_stuck_min_intervals') as stuck_min,
        max(value) filter (where parameter = 'anomaly_stop_min_hours') as stop_hours,
        max(value) filter (where parameter = 'anomaly_clock_min_rows') as clock_min,
        max(value) filter (where parameter = 'anomaly_repeat_min_intervals') as repeat_min,
        max(value) filter (where parameter = 'anomaly_conflict_min_intervals') as conflict_min
    from {{ rows_in_force_at_window_start(ref('vee_parameters')) }}
),

validated as (
    select *, strftime(reading_date, '%Y-%m') as period,
           cast(date_trunc('month', reading_date) as date) as period_start
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
),

failures as (
    select meter_id, customer_id, period, period_start, interval_start, rule,
           case when rule in ('high_daily_usage', 'low_daily_usage') then 'daily_usage'
                else rule end as rule_group
    from (
        select v.meter_id, v.customer_id, v.period, v.period_start, v.interval_start,
               unnest(string_split(v.failed_rules, ';')) as rule
        from validated v
        where v.failed_rules is not null
    )
),

rule_counts as (
    select meter_id, max(customer_id) as customer_id, period, period_start, rule_group as rule,
           string_agg(distinct rule, ', ' order by rule) as rules,
           count(*) as n_intervals,
           count(distinct cast(interval_start as date)) as n_days,
           min(interval_start) as first_seen, max(interval_start) as last_seen
    from failures
    group by meter_id, period, period_start, rule_group
),

-- reads stopped: how long the month's grid runs on after the meter's last read (every interval
-- after the last read is unread, so the trailing gap is the time between the two)
last_reads as (
    select *,
           case when last_read is null then n_grid
                else datediff('minute', last_read, grid_end) // interval_minutes end
               as trailing_missing
    from (
        select meter_id, max(customer_id) as customer_id, period, period_start,
               max(interval_start) filter (where raw_value is not null) as last_read,
               max(interval_start) as grid_end,
               count(*) as n_grid,
               any_value(interval_minutes) as interval_minutes
        from validated
        where channel = 'kwh_imp' and coalesce(failed_rule, '') <> 'future_timestamp'
        group by meter_id, period, period_start
    )
),

misaligned as (
    select split_part(q.raw_record, ',', 1) as meter_id,
           substr(split_part(q.raw_record, ',', 3), 1, 7) as period,
           count(*) as n_rows,
           min(split_part(q.raw_record, ',', 3)) as first_seen_text
    from {{ source('raw', 'quarantine_rows') }} q
    where q.rule = 'misaligned_timestamp'
      and substr(split_part(q.raw_record, ',', 3), 1, 7)
          between strftime({{ window_start() }}, '%Y-%m') and strftime({{ window_end() }} - 1, '%Y-%m')
    group by all
),

meters as (
    select meter_id, customer_id
    from {{ ref('stg_metering_points') }}
    qualify row_number() over (partition by meter_id order by valid_from desc) = 1
),

clock as (
    select
        coalesce(f.meter_id, q.meter_id) as meter_id,
        coalesce(f.customer_id, m.customer_id) as customer_id,
        coalesce(f.period, q.period) as period,
        coalesce(f.period_start, cast(q.period || '-01' as date)) as period_start,
        coalesce(q.n_rows, 0) as misaligned_rows,
        coalesce(f.n_intervals, 0) as future_rows,
        least(f.first_seen, try_strptime(q.first_seen_text, '%Y-%m-%d %H:%M')) as first_seen,
        f.last_seen
    from (select * from rule_counts where rule = 'future_timestamp') f
    full join misaligned q on q.meter_id = f.meter_id and q.period = f.period
    left join meters m on m.meter_id = coalesce(f.meter_id, q.meter_id)
),

register_resets as (
    select meter_id, max(customer_id) as customer_id, strftime(reading_date, '%Y-%m') as period,
           cast(date_trunc('month', min(reading_date)) as date) as period_start,
           count(*) as n_events, min(read_at) as first_seen, max(read_at) as last_seen,
           string_agg(channel || ' ' || prev_register_value || ' → ' || register_value, '; ') as detail
    from {{ ref('vee_register_days') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and event = 'register_reset'
    group by meter_id, strftime(reading_date, '%Y-%m')
),

conflicts as (
    select meter_id, max(customer_id) as customer_id, period, period_start, count(*) as n_intervals,
           min(interval_start) as first_seen, max(interval_start) as last_seen
    from validated
    where has_conflict
    group by meter_id, period, period_start
),

-- spikes above the contract capacity that VEE replaced (customer version in force on the day)
spikes_over_capacity as (
    select v.meter_id, max(v.customer_id) as customer_id, v.period, v.period_start,
           count(*) as n_intervals,
           max(v.raw_value * 60.0 / v.interval_minutes) as raw_max_kw,
           max(v.value * 60.0 / v.interval_minutes) as validated_max_kw,
           max(c.contract_capacity_kva) as contract_capacity_kva,
           min(v.interval_start) as first_seen, max(v.interval_start) as last_seen
    from validated v
    join {{ ref('stg_customers') }} c
        on c.customer_id = v.customer_id and v.reading_date >= c.valid_from
       and (c.valid_to is null or v.reading_date <= c.valid_to)
    where v.channel = 'kwh_imp' and v.quality_flag in ('ESTIMATED', 'FAILED')
      and list_contains(string_split(v.failed_rules, ';'), 'spike')
      and v.raw_value * 60.0 / v.interval_minutes > c.contract_capacity_kva
    group by v.meter_id, v.period, v.period_start
),

anomalies as (
    select r.period, r.period_start, r.meter_id, r.customer_id, 'stuck_meter' as anomaly,
           'zero_run' as notice_check,
           r.n_intervals || ' stuck-zero intervals on ' || r.n_days || ' day(s), first at '
               || strftime(r.first_seen, '%Y-%m-%d %H:%M') as detail,
           r.n_intervals, p.stuck_min as threshold, r.first_seen, r.last_seen
    from rule_counts r cross join params p
    where r.rule = 'stuck_zero' and r.n_intervals >= p.stuck_min

    union all
    select l.period, l.period_start, l.meter_id, l.customer_id, 'reads_stopped', 'completeness',
           'no read after ' || coalesce(strftime(l.last_read, '%Y-%m-%d %H:%M'), 'the month start')
               || ': ' || l.trailing_missing || ' intervals to ' || strftime(l.grid_end, '%Y-%m-%d %H:%M')
               || ' estimated or failed',
           l.trailing_missing, p.stop_hours, l.last_read, l.grid_end
    from last_reads l cross join params p
    where l.trailing_missing * l.interval_minutes >= p.stop_hours * 60

    union all
    select c.period, c.period_start, c.meter_id, c.customer_id, 'clock_drift', 'time_check',
           c.misaligned_rows || ' misaligned timestamps quarantined, ' || c.future_rows
               || ' future-stamped reads',
           c.misaligned_rows + c.future_rows, p.clock_min, c.first_seen, c.last_seen
    from clock c cross join params p
    where c.misaligned_rows + c.future_rows >= p.clock_min

    union all
    select r.period, r.period_start, r.meter_id, r.customer_id, 'repeated_' || r.rule,
           case r.rule
               when 'negative' then 'negative' when 'spike' then 'spike'
               when 'multiplier_mismatch' then 'multiplier' when 'sum_check' then 'sum_check'
               else 'usage'
           end,
           r.rules || ': ' || r.n_intervals || ' intervals on ' || r.n_days || ' day(s)',
           r.n_intervals, p.repeat_min, r.first_seen, r.last_seen
    from rule_counts r cross join params p
    where (r.rule in ('negative', 'spike', 'multiplier_mismatch') and r.n_intervals >= p.repeat_min)
       or (r.rule in ('sum_check', 'daily_usage') and r.n_days >= p.repeat_min)

    union all
    select g.period, g.period_start, g.meter_id, g.customer_id, 'register_reset', 'rollover',
           'register went back without rolling over (meter change or reset): ' || g.detail,
           g.n_events, 1, g.first_seen, g.last_seen
    from register_resets g

    union all
    select c.period, c.period_start, c.meter_id, c.customer_id, 'repeated_conflicts', 'duplicate',
           c.n_intervals || ' intervals re-sent with different values (latest version kept)',
           c.n_intervals, p.conflict_min, c.first_seen, c.last_seen
    from conflicts c cross join params p
    where c.n_intervals >= p.conflict_min

    union all
    select s.period, s.period_start, s.meter_id, s.customer_id, 'replaced_spike_over_capacity', 'spike_over_capacity',
           s.n_intervals || ' spike interval(s) above the contract ' || s.contract_capacity_kva
               || ' kVA replaced by VEE: read max ' || round(s.raw_max_kw, 3) || ' kW, validated max '
               || coalesce(cast(round(s.validated_max_kw, 3) as varchar), 'none (FAILED)')
               || ' kW, first at ' || strftime(s.first_seen, '%Y-%m-%d %H:%M')
               || ' (an approved manual edit or a confirming register read keeps the read value)',
           s.n_intervals, s.contract_capacity_kva, s.first_seen, s.last_seen
    from spikes_over_capacity s
)

select
    period,
    period_start,
    meter_id,
    customer_id,
    anomaly,
    notice_check,
    detail,
    cast(n_intervals as bigint) as n_intervals,
    cast(threshold as double) as threshold,
    first_seen,
    last_seen
from anomalies
