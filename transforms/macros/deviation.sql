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
