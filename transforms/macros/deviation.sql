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

{#- The least-cost purchase volume (seed CN113505338B), one search for the contract and the
    portfolio adjustment. Takes: `months`, a CTE with the `keys` columns, period_start,
    current_kwh, p10_kwh, p50_kwh, p90_kwh, price (yuan/kWh; NULL: no cost to weigh) and
    `clause_id`; `clauses`, the tier rows (deviation_clause_id, tier_no, lower_ratio,
    upper_ratio, coefficient, valid_from, valid_to). Gives the CTEs candidates (the current
    volume and P50 × (1 + s / 200), s = -30 … 30, whole kWh), scenarios (P10 / P50 / P90 at
    0.3 / 0.4 / 0.3), costs (the expected deviation cost of every candidate through the tier
    split in force), best (the cheapest, ties to the one nearest the current volume) and
    current_cost. -#}
{% macro least_cost_volume(months, keys, clauses) -%}
{%- set key_list = keys | join(', ') -%}
candidates as (
    select {{ key_list }}, current_kwh as volume_kwh from {{ months }}
    union
    select {{ key_list }}, cast(round(p50_kwh * (1 + r.s / 200.0), 0) as decimal(18, 3))
    from {{ months }}, range(-30, 31) r(s)
    where p50_kwh > 0
),

scenarios as (
    select {{ key_list }}, 0.3 as weight, p10_kwh as kwh from {{ months }}
    union all select {{ key_list }}, 0.4, p50_kwh from {{ months }}
    union all select {{ key_list }}, 0.3, p90_kwh from {{ months }}
),

costs as (
    select c.*,
           sum(s.weight * {{ deviation_tier_kwh('abs(s.kwh - c.volume_kwh)', 'c.volume_kwh',
                                                'k.lower_ratio', 'k.upper_ratio') }}
               * k.coefficient * m.price) as expected_cost_yuan
    from candidates c
    join {{ months }} m using ({{ key_list }})
    join scenarios s using ({{ key_list }})
    join {{ clauses }} k
        on k.deviation_clause_id = m.clause_id
       and m.period_start >= k.valid_from and (k.valid_to is null or m.period_start <= k.valid_to)
    where m.price is not null
    group by all
),

best as (
    select c.*
    from costs c
    join {{ months }} m using ({{ key_list }})
    qualify row_number() over (
        partition by {% for k in keys %}c.{{ k }}{{ ", " if not loop.last }}{% endfor %}
        order by round(c.expected_cost_yuan, 2), abs(c.volume_kwh - m.current_kwh),
                 c.volume_kwh) = 1
),

current_cost as (
    select c.*
    from costs c
    join {{ months }} m using ({{ key_list }})
    where c.volume_kwh = m.current_kwh
)
{%- endmacro %}

{#- The output columns of a least-cost suggestion (both purchase adjustments): the month row
    `months` joined with `best b` and `current_cost cc` of least_cost_volume. -#}
{% macro least_cost_outcome(months) -%}
cast(b.volume_kwh as decimal(18, 3)) as suggested_kwh,
    cast(b.volume_kwh - {{ months }}.current_kwh as decimal(18, 3)) as change_kwh,
    {{ money('cc.expected_cost_yuan') }} as expected_cost_current_yuan,
    {{ money('b.expected_cost_yuan') }} as expected_cost_suggested_yuan,
    {{ money('cc.expected_cost_yuan') }} - {{ money('b.expected_cost_yuan') }}
        as expected_saving_yuan,
    case when {{ months }}.price is null then 'no_price'
         when b.volume_kwh = {{ months }}.current_kwh then 'keep'
         else 'adjust' end as status
{%- endmacro %}

{#- The projected risk state of a volume `base` (contracted or bought) against P10 / P50 / P90
    (docs/forecasting.md): beyond_tier2 when P90 lies above, or P10 below, `base` by more than
    tier 2's upper ratio; outside_free_band when P50 lies outside tier 1; within_free_band
    otherwise. The caller handles what comes first (no forecast, no price). -#}
{% macro projected_risk_state(p10, p50, p90, base, free_band, tier2_upper) -%}
case
        when ({{ p90 }} - {{ base }}) / {{ base }} > {{ tier2_upper }}
          or ({{ base }} - {{ p10 }}) / {{ base }} > {{ tier2_upper }} then 'beyond_tier2'
        when abs({{ p50 }} - {{ base }}) / {{ base }} > {{ free_band }} then 'outside_free_band'
        else 'within_free_band'
    end
{%- endmacro %}
