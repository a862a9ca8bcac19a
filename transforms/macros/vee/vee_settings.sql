{#- VEE (core/vee/int_interval_validated.sql) is one query built from the stage macros of this
    folder, each giving a group of CTEs to the model's WITH list, in this order:
      vee_inputs → vee_duplicates → vee_day_checks → vee_manual_edits → vee_candidate_days →
      vee_row_checks → vee_like_days → vee_spike_rule → vee_stuck_zero_rule → vee_row_verdicts →
      vee_interpolation → vee_estimates → vee_edited_values → vee_proration → vee_final.
    A stage may read any CTE given before it. Macros rather than ephemeral models: the compiled
    query is the one it always was (same plan, same speed, MATERIALIZED hints kept), dbt and
    Dagster see one model, and a dbt unit test on int_interval_validated can give the raw inputs. -#}

{#- VEE settings, as a dict for the stage macros (stage: all).
    Takes: the dbt var `as_of` (as-of rebuild; none in production runs), the seed
    vee_parameters (like_day_window_days in force on the window's first day).
    Gives: {as_of, run_date (as_of, else today, ISO date), lookback (like_day_window_days: the
    read range is the window ± lookback days, as literals so the scan of raw.interval_reads is
    pruned by its zone maps; 21 before the seed exists and in unit tests)}. -#}
{% macro vee_settings() %}
    {%- set as_of = var('as_of', none) -%}
    {%- set run_date = as_of if as_of is not none else modules.datetime.date.today().isoformat() -%}
    {%- set lookback = 21 -%}
    {%- if execute -%}
        {%- set seed = ref('vee_parameters') -%}
        {%- if not seed.is_cte
               and adapter.get_relation(seed.database, seed.schema, seed.identifier) is not none -%}
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
    {{ return({'as_of': as_of, 'run_date': run_date, 'lookback': lookback}) }}
{% endmacro %}

{#- The latest landed version of each interval in a small key set, read by exact key from
    raw.interval_reads (stage: checks and estimation — like-day values and interpolation
    neighbours): the optimizer knows a base table's size and hashes the few keys, not the big
    side.
    Takes: relation, the name of a CTE with meter_id, channel and the column `key` (a timestamp);
    vee = vee_settings(); the CTEs rules and ledger_known (vee_inputs).
    Gives: a SELECT of meter_id, channel, `key` and value (latest version) for the keys landed
    in the read range (window ± lookback, not future-stamped when future_timestamp is on, only
    ledger_known files in an as-of rebuild).
    Small key sets joined to raw.interval_reads go through one list and unnest: the optimizer's
    row estimate of a chain of CTE joins can exceed the raw table's and make it hash the big
    side; an unnested single-row list is estimated small, so the keys are hashed. -#}
{% macro vee_latest_of(relation, key, vee) -%}
    select r.meter_id, r.channel, r.interval_start as {{ key }},
           arg_max(r.value, {{ version_key('r') }}) as value
    from {{ source('raw', 'interval_reads') }} r
    semi join (select unnest(k.keys, recursive := true) from (
        select list(distinct {'meter_id': meter_id, 'channel': channel, '{{ key }}': {{ key }}}) as keys
        from {{ relation }}) k) k
        on k.meter_id = r.meter_id and k.channel = r.channel and k.{{ key }} = r.interval_start
    where r.interval_start >= {{ window_start() }} - {{ vee.lookback }}
    and r.interval_start < {{ window_end() }} + {{ vee.lookback }}
    and (r.interval_start < cast('{{ vee.run_date }}' as date) + 1 or not (select on_future from rules))
    {%- if vee.as_of is not none %}
    and r.file_id in (select file_id from ledger_known)
    {%- endif %}
    group by r.meter_id, r.channel, r.interval_start
{%- endmacro %}
