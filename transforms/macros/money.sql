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

{#- prorated_price(p): a basic-charge unit price (元 per kVA or kW and month, ≥ 0) for the days in
    service of a customer-month row (columns basic_charge_proration, days_in_service,
    days_in_month of core.int_customer_month): p × days_in_service / days_in_month rounded half
    up to 8 dp (the precision of bill_lines.unit_price), in exact integer arithmetic, when
    basic_charge_proration = 1 and the customer was not in service the whole month; else p. -#}
{% macro prorated_price(p) -%}
cast(case when basic_charge_proration = 1 and days_in_service < days_in_month
          then cast((cast(round(({{ p }}) * 100000000) as hugeint) * days_in_service * 2
                     + days_in_month) // (2 * days_in_month) as decimal(38, 0)) * 0.00000001
          else {{ p }} end as decimal(18, 8))
{%- endmacro %}

{#- demand_is_determinant(c): true when the maximum demand prices the customer's bill — a
    two-part customer whose basic charge is by actual demand, or by contract demand (the excess
    over the band is billed on it); by capacity or single-part the maximum demand is not a
    billing determinant. c: the alias of a row with tariff_type and basic_charge_mode. -#}
{% macro demand_is_determinant(c) -%}
({{ c }}.tariff_type = 'two_part' and {{ c }}.basic_charge_mode in ('actual_demand', 'contract_demand'))
{%- endmacro %}

{#- pf_hundredths(kwh, kvarh): the power factor cos φ = P / √(P² + Q²) rounded half up to 2 dp,
    as integer hundredths, decided in exact integer arithmetic: h is the largest integer with
    cos φ ≥ (h − 0.5) / 100, i.e. 40000·P² ≥ (2h − 1)²·(P² + Q²), with P, Q in Wh (so no float
    error can move a month across a PF table boundary), clamped to 0..100; NULL when there is
    no active energy (kwh = 0: no power factor, so no rate). kwh, kvarh: DECIMAL(·, 3). -#}
{% macro pf_hundredths(kwh, kvarh) -%}
{%- set h0 = "cast(floor(100 * " ~ kwh ~ " / sqrt(" ~ kwh ~ " * " ~ kwh ~ " + " ~ kvarh ~ " * " ~ kvarh ~ ") + 0.5) as hugeint)" -%}
{%- set p2 = "(cast(" ~ kwh ~ " * 1000 as hugeint) * cast(" ~ kwh ~ " * 1000 as hugeint))" -%}
{%- set s2 = "(" ~ p2 ~ " + cast(" ~ kvarh ~ " * 1000 as hugeint) * cast(" ~ kvarh ~ " * 1000 as hugeint))" -%}
case when {{ kwh }} > 0 then cast(least(greatest(
    {{ h0 }} - 1
    + case when 40000 * {{ p2 }} >= (2 * {{ h0 }} - 1) * (2 * {{ h0 }} - 1) * {{ s2 }} then 1 else 0 end
    + case when 40000 * {{ p2 }} >= (2 * {{ h0 }} + 1) * (2 * {{ h0 }} + 1) * {{ s2 }} then 1 else 0 end,
    0), 100) as integer) end
{%- endmacro %}

{#- pf_rate_of(rows, rates): every row of `rows` (a CTE with pf_standard, pf_hundredths and
    period_start) with the power-factor adjustment rate in force for the month: pf_rate_pct and
    pf_table_valid_from from `rates` (pass ref('pf_adjustment_rates')), keyed by integer
    hundredths; table rows are text codes compared as numbers ('0.90' and 0.9 are the same
    standard); pf_standard 'none' or no power factor (NULL hundredths): no rate. -#}
{% macro pf_rate_of(rows, rates) -%}
select
    j.*,
    r.rate_pct as pf_rate_pct,
    r.valid_from as pf_table_valid_from
from {{ rows }} j
left join {{ rates }} r
    on j.pf_standard <> 'none'
   and cast(r.pf_standard as decimal(4, 2)) = try_cast(j.pf_standard as decimal(4, 2))
   and r.pf_hundredths = j.pf_hundredths
   and j.period_start >= r.valid_from and (r.valid_to is null or j.period_start <= r.valid_to)
{%- endmacro %}

{#- kwh_for_minutes(kw, minutes): the energy of an average load held for a number of minutes,
    kw × minutes / 60 in kWh, rounded half up to 3 dp in exact integer arithmetic (DuckDB would
    divide in floating point); kw ≥ 0 (DECIMAL, 3 dp), minutes a whole number ≥ 0. -#}
{% macro kwh_for_minutes(kw, minutes) -%}
cast(cast((cast(round(({{ kw }}) * 1000) as hugeint) * ({{ minutes }}) * 2 + 60) // 120
          as decimal(38, 0)) * 0.001 as decimal(18, 3))
{%- endmacro %}
