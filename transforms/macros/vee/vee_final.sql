{#- VEE stage final: one row per meter, channel and interval of the window.
    Takes: versions (duplicates), window_verdicts (day checks), pre_values (edits), day_checks
    (proration), meters, params, rules, ledger_known (inputs), raw.interval_reads.
    Gives the CTEs: cand_out (the intervals of candidate days: prorated value, method and the
    failed rules in vee_rules priority), future_out (future-stamped reads: FAILED) and final
    (clean days straight from versions, then cand_out, then future_out), which the model casts
    to its output columns. -#}
{% macro vee_final() -%}
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
{%- endmacro %}
