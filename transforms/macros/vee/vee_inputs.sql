{#- VEE stage inputs (core/vee/int_interval_validated.sql, first in its WITH list).
    Takes: vee = vee_settings(); the seeds vee_parameters and vee_rules (rows in force on the
    window's first day), stg_metering_points, stg_customers, raw.file_ledger, raw.interval_reads.
    Gives the CTEs: params (one row: the window, the run date's future_from, every threshold),
    rules (one row: each rule on/off and its priority), meters (master data per meter version,
    with physical_max for the spike rule), ledger_known (ledger files that may be used: all, or
    those ingested by as_of) and reads (every landed row of the window ± like_window with its
    version_key; future-stamped rows left out when future_timestamp is on). -#}
{% macro vee_inputs(vee) -%}
params as (
    select
        {{ window_start() }} as ws,
        {{ window_end() }} as we,
        cast('{{ vee.run_date }}' as date) + 1 as future_from,
        max(value) filter (where parameter = 'max_interpolation_intervals')::int as max_interp,
        {{ vee.lookback }} as like_window,
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
    {% if vee.as_of is not none %} where ingested_at < cast('{{ vee.run_date }}' as date) + 1 {% endif %}
),

-- every landed row in the window ± like_window (neighbours and like-days live there)
reads as (
    select r.meter_id, r.channel, r.interval_start, r.value, r.multiplier,
           {{ version_key('r') }} as version_key
    from {{ source('raw', 'interval_reads') }} r, params p, rules
    where r.interval_start >= {{ window_start() }} - {{ vee.lookback }}
      and r.interval_start < {{ window_end() }} + {{ vee.lookback }}
      and (r.interval_start < p.future_from or not rules.on_future)
    {% if vee.as_of is not none %} and r.file_id in (select file_id from ledger_known) {% endif %}
)
{%- endmacro %}
