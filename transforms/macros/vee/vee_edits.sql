{#- VEE stage edits (1/2): the manual edits of the window.
    Takes: params, ledger_known (vee_inputs); raw.manual_edits when that table exists (or is
    given by a dbt unit test).
    Gives the CTEs: edits_in_window (per interval of the window: the latest edit's edit_value and
    edit_key, its version key) and edit_days (meter-days with an edit: always candidates). -#}
{% macro vee_manual_edits() -%}
-- manual edits (assets/manual_edits.py); a warehouse not yet ingested since they exist has none
edits_in_window as (
    {%- set edits = source('raw', 'manual_edits') %}
    {#- (in a dbt unit test the source is the test's given rows, a CTE) #}
    {%- if execute and (edits.is_cte
                        or adapter.get_relation(edits.database, edits.schema, edits.identifier) is not none) %}
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
)
{%- endmacro %}

{#- VEE stage edits (2/2): the value and flag of every expected interval of a candidate day,
    before proration: manual edit, else estimate, else multiplier-rescaled value, else the read.
    Takes: row_verdicts (checks), estimates (estimation), edits_in_window, cand_read, params.
    Gives the CTEs: patches (one row per interval something changes: verdicts, estimate, edit),
    decided (cand_read with every rule flag, is_edited, is_rescaled, is_proratable) and
    pre_values (decided + pre_value and quality_flag). -#}
{% macro vee_edited_values() -%}
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
)
{%- endmacro %}
