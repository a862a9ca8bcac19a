{#- Partition window from Dagster: [min_date, max_date). -#}
{% macro window_start() %}cast('{{ var("min_date") }}' as date){% endmacro %}
{% macro window_end() %}cast('{{ var("max_date") }}' as date){% endmacro %}

{#- A data test's `where` config may name the window as `__window_start__` / `__window_end__`:
    filled here when the test runs, since a `where` written with var() is fixed at parse time
    and the window is a runtime var (dbt's documented way: override get_where_subquery). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__window_start__', window_start())
                              | replace('__window_end__', window_end()) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- Pre-hook for window-incremental models: re-running a window replaces exactly that window. -#}
{% macro delete_window(column) %}
  {% if is_incremental() %}
    delete from {{ this }} where {{ column }} >= {{ window_start() }} and {{ column }} < {{ window_end() }}
  {% endif %}
{% endmacro %}

{#- Rows of an effective-dated seed in force on the window's first day (on the seed's first
    valid_from when the window starts before it), as a subquery: VEE rules and parameters. -#}
{% macro rows_in_force_at_window_start(seed) -%}
(select s.* from {{ seed }} s,
     (select greatest({{ window_start() }}, min(valid_from)) as d from {{ seed }}) on_day
 where s.valid_from <= on_day.d
   and coalesce(try_cast(s.valid_to::varchar as date), date '9999-12-31') >= on_day.d)
{%- endmacro %}
