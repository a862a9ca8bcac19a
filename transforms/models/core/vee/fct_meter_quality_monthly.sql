{#- table core.meter_quality_monthly (alias: the table name and asset key predate the fct_ prefix) -#}
{{ config(
    materialized='incremental',
    alias='meter_quality_monthly',
    incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}",
    tags=['monthly', 'quality'],
) }}
-- Data quality per meter and month: energy, the estimated share, counts per quality flag and per
-- VEE rule (an interval counts once for every rule in its failed_rules), duplicates and register
-- events. Both channels are counted in the interval counts; energy columns are kWh (kwh_imp).

with validated as (
    select *
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
),

registers as (
    select meter_id, strftime(reading_date, '%Y-%m') as period,
           count(*) filter (where event = 'rollover') as register_rollovers,
           count(*) filter (where event = 'register_reset') as register_resets
    from {{ ref('vee_register_days') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
    group by all
),

per_meter as (
    select
        meter_id,
        max(customer_id) as customer_id,
        strftime(reading_date, '%Y-%m') as period,
        cast(date_trunc('month', min(reading_date)) as date) as period_start,
        cast(coalesce(sum(value) filter (where channel = 'kwh_imp'), 0) as decimal(18, 3)) as kwh,
        cast(coalesce(sum(value) filter (where channel = 'kwh_imp' and quality_flag = 'ESTIMATED'), 0)
             as decimal(18, 3)) as estimated_kwh,
        cast(coalesce(sum(value) filter (where channel = 'kwh_imp' and quality_flag = 'EDITED'), 0)
             as decimal(18, 3)) as edited_kwh,
        count(*) as intervals,
        count(*) filter (where quality_flag = 'ACTUAL') as actual_intervals,
        count(*) filter (where quality_flag = 'ESTIMATED') as estimated_intervals,
        count(*) filter (where quality_flag = 'EDITED') as edited_intervals,
        count(*) filter (where quality_flag = 'FAILED') as failed_intervals,
        count(*) filter (where contains(failed_rules, 'missing')) as missing,
        count(*) filter (where contains(failed_rules, 'negative')) as negative,
        count(*) filter (where contains(failed_rules, 'spike')) as spike,
        count(*) filter (where contains(failed_rules, 'stuck_zero')) as stuck_zero,
        count(*) filter (where contains(failed_rules, 'multiplier_mismatch')) as multiplier_mismatch,
        count(*) filter (where contains(failed_rules, 'future_timestamp')) as future_timestamp,
        count(*) filter (where contains(failed_rules, 'sum_check')) as sum_check,
        count(*) filter (where contains(failed_rules, 'high_daily_usage')) as high_daily_usage,
        count(*) filter (where contains(failed_rules, 'low_daily_usage')) as low_daily_usage,
        coalesce(sum(duplicate_rows), 0) as duplicate_rows,
        count(*) filter (where has_conflict) as conflicting_intervals,
        count(*) filter (where prorated) as prorated_intervals
    from validated
    group by meter_id, strftime(reading_date, '%Y-%m')
)

select
    m.meter_id,
    m.customer_id,
    m.period,
    m.period_start,
    m.kwh,
    m.estimated_kwh,
    cast(round(m.estimated_kwh / nullif(m.kwh, 0), 4) as decimal(9, 4)) as estimated_kwh_share,
    m.edited_kwh,
    m.intervals,
    m.actual_intervals,
    m.estimated_intervals,
    m.edited_intervals,
    m.failed_intervals,
    m.missing,
    m.negative,
    m.spike,
    m.stuck_zero,
    m.multiplier_mismatch,
    m.future_timestamp,
    m.sum_check,
    m.high_daily_usage,
    m.low_daily_usage,
    m.duplicate_rows,
    m.conflicting_intervals,
    m.prorated_intervals,
    coalesce(r.register_rollovers, 0) as register_rollovers,
    coalesce(r.register_resets, 0) as register_resets
from per_meter m
left join registers r using (meter_id, period)
