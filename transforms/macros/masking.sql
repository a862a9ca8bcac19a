{#- Masks for BI-facing tables; the same rules as notifications/masking.py. -#}
{% macro mask_phone(col) -%}
case when {{ col }} is null or length({{ col }}) < 7 then {{ col }}
     else left({{ col }}, 3) || repeat('*', length({{ col }}) - 7) || right({{ col }}, 4) end
{%- endmacro %}

{% macro mask_email(col) -%}
case when {{ col }} is null or position('@' in {{ col }}) < 2 then {{ col }}
     else left({{ col }}, 1) || '***' || substr({{ col }}, position('@' in {{ col }})) end
{%- endmacro %}

{% macro mask_account(col) -%}
case when {{ col }} is null or length({{ col }}) <= 4 then {{ col }}
     else repeat('*', length({{ col }}) - 4) || right({{ col }}, 4) end
{%- endmacro %}
