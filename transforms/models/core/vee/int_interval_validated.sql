{%- set vee = vee_settings() -%}
{{ config(
    materialized=('table' if vee.as_of is not none else 'incremental'),
    alias=('int_interval_validated_as_of' if vee.as_of is not none else 'int_interval_validated'),
    incremental_strategy='append',
    pre_hook=[
        "{% if is_incremental() %}alter table {{ this }} add column if not exists failed_rules varchar;"
        " alter table {{ this }} add column if not exists prorated boolean{% endif %}",
        "{{ delete_window('reading_date') }}",
    ],
    tags=['daily'],
) }}
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
--
-- Stages: the CTEs come from the stage macros in transforms/macros/vee/ (each file says what
-- it takes and gives; documented in _vee.yml), compiled into this one query:
--   inputs       vee_inputs: thresholds, rules, master data, the landed rows of the read range
--   duplicates   vee_duplicates: one version per landed interval (latest file, then row)
--   checks       vee_day_checks: day flags, like-day pool, usage baseline, register deltas
--   edits        vee_manual_edits: the window's manual edits (applied in vee_edited_values)
--   checks       vee_candidate_days (day verdicts of the window, candidate days),
--                vee_row_checks (suspect values, zero runs, missing intervals),
--                vee_like_days (like-day medians and averages, also for the estimation),
--                vee_spike_rule, vee_stuck_zero_rule, vee_row_verdicts
--   estimation   vee_interpolation (neighbours), vee_estimates (interpolation, like-day
--                average, flat fill)
--   edits        vee_edited_values: edit > estimate > rescale > read, and the quality flag
--   proration    vee_proration: estimates scaled to the register delta; the sum check
--   final        vee_final: clean days, candidate days and future-stamped reads in one set

with
{{ vee_inputs(vee) }},

{{ vee_duplicates() }},

{{ vee_day_checks() }},

{{ vee_manual_edits() }},

{{ vee_candidate_days() }},

{{ vee_row_checks() }},

{{ vee_like_days(vee) }},

{{ vee_spike_rule() }},

{{ vee_stuck_zero_rule() }},

{{ vee_row_verdicts() }},

{{ vee_interpolation(vee) }},

{{ vee_estimates() }},

{{ vee_edited_values() }},

{{ vee_proration() }},

{{ vee_final() }}

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
