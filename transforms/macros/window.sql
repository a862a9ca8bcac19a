{#- Partition window from Dagster: [min_date, max_date). -#}
{% macro window_start() %}cast('{{ var("min_date") }}' as date){% endmacro %}
{% macro window_end() %}cast('{{ var("max_date") }}' as date){% endmacro %}

{#- Pre-hook for window-incremental models: re-running a window replaces exactly that window. -#}
{% macro delete_window(column) %}
  {% if is_incremental() %}
    delete from {{ this }} where {{ column }} >= {{ window_start() }} and {{ column }} < {{ window_end() }}
  {% endif %}
{% endmacro %}

{#- Money: half away from zero (四舍五入) to 2 dp, as a DECIMAL. -#}
{% macro yuan(expr) %}cast(round(cast({{ expr }} as decimal(38, 9)), 2) as decimal(18, 2)){% endmacro %}
{% macro price6(expr) %}cast(round(cast({{ expr }} as decimal(38, 12)), 6) as decimal(18, 6)){% endmacro %}
