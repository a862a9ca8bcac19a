{#- Money (元) and prices: the one place amounts and prices are rounded.

    money(quantity, unit_price): a line amount, round(quantity × unit_price, 2) half away from
    zero (四舍五入), exact: the product is taken in DECIMAL(38, ·) (DECIMAL(18) × DECIMAL(18)
    would overflow for lines above ~10^7 元) and rounded once, with no intermediate rounding.
    money(expr): any other amount in 元 (e.g. kWh × market price, a summed cost), taken at 9 dp
    and rounded half away from zero to 2 dp.
    Both return DECIMAL(18, 2). -#}
{% macro money(expr, unit_price=none) -%}
{%- if unit_price is none -%}
cast(round(cast({{ expr }} as decimal(38, 9)), 2) as decimal(18, 2))
{%- else -%}
cast(round(cast({{ expr }} as decimal(38, 3)) * {{ unit_price }}, 2) as decimal(18, 2))
{%- endif -%}
{%- endmacro %}

{#- Prices (元/kWh, rates): half away from zero to 6 dp, as DECIMAL(18, 6). -#}
{% macro price6(expr) %}cast(round(cast({{ expr }} as decimal(38, 12)), 6) as decimal(18, 6)){% endmacro %}
