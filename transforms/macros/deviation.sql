{#- The deviation engine's tier split (domain.md §4), the one expression every deviation model
    uses (settled: core.fct_deviation_tiers; portfolio: core.fct_portfolio_deviation;
    projected: analytics.deviation_projection): the part of |ΔQ| inside a tier's band
    [lower_ratio, upper_ratio) × the base volume; an open top tier (upper_ratio null) takes
    the rest. -#}
{% macro deviation_tier_kwh(abs_deviation, base, lower_ratio, upper_ratio) -%}
greatest(0, least({{ abs_deviation }},
                  coalesce({{ upper_ratio }} * {{ base }}, {{ abs_deviation }}))
            - {{ lower_ratio }} * {{ base }})
{%- endmacro %}

{#- The deviation price base of an open month: each customer's average energy price of its
    latest settled month (energy amount / energy kWh of core.fct_settlement_lines, as the
    settled deviation line prices it), 6 decimals; no row before its first settled month.
    Columns: customer_id, p_ref, price_period. -#}
{% macro latest_energy_prices(settlement_lines) -%}
    select customer_id, arg_max(price, period_start) as p_ref, max(period) as price_period
    from (
        select customer_id, period, period_start,
               {{ price6('sum(amount_yuan) / nullif(sum(quantity), 0)') }} as price
        from {{ relation_or_empty(settlement_lines, {
            'customer_id': 'varchar', 'period': 'varchar', 'period_start': 'date',
            'line_code': 'varchar', 'quantity': 'decimal(18, 3)',
            'amount_yuan': 'decimal(18, 2)'}) }}
        where line_code like 'energy%'
        group by all
    )
    group by customer_id
{%- endmacro %}
