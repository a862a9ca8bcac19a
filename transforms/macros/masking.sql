{#- Masks for BI-facing tables; the same rules as notifications/masking.py. -#}
{% macro mask_phone(col) -%}
case when {{ col }} is null or length({{ col }}) < 7 then {{ col }}
     else left({{ col }}, 3) || repeat('*', length({{ col }}) - 7) || right({{ col }}, 4) end
{%- endmacro %}

{% macro mask_email(col) -%}
case when {{ col }} is null or position('@' in {{ col }}) < 2 then {{ col }}
     else left({{ col }}, 1) || '***' || substr({{ col }}, position('@' in {{ col }})) end
{%- endmacro %}

{#- `李雷` -> `李**`: first character and a fixed-width mask (notifications.masking.mask_name) -#}
{% macro mask_name(col) -%}
case when {{ col }} is null or trim({{ col }}) = '' then {{ col }}
     else left(trim({{ col }}), 1) || '**' end
{%- endmacro %}

{% macro mask_account(col) -%}
case when {{ col }} is null or length({{ col }}) <= 4 then {{ col }}
     else repeat('*', length({{ col }}) - 4) || right({{ col }}, 4) end
{%- endmacro %}
