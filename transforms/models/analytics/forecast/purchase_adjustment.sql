{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Purchase-volume adjustment (seed CN113505338B; issue 10; domain.md §4; docs/forecasting.md):
-- for every contract month that has not started at the forecast's origin, the contracted
-- volume that minimises the expected deviation cost under the monthly forecast
-- (analytics.load_forecast_monthly: 0.3 / 0.4 / 0.3 on P10 / P50 / P90, as the projection)
-- through the contract's clause tiers at the customer's latest settled energy price; the
-- search (candidates ±15 % of P50 in 0.5 % steps and the current volume, ties to the nearest
-- current) is macro least_cost_volume, the portfolio adjustment's too. status: adjust (another volume is cheaper), keep (the current one is cheapest),
-- no_price (no settled month yet: no cost to weigh).

with forecast as (
    select customer_id, period, origin_day, p10_kwh, p50_kwh, p90_kwh
    from {{ source('analytics', 'load_forecast_monthly') }}
),

months as (
    select k.contract_id, k.customer_id, k.retailer_id, k.deviation_clause_id, v.period,
           cast(v.period || '-01' as date) as period_start, v.contracted_kwh,
           f.origin_day, f.p10_kwh, f.p50_kwh, f.p90_kwh
    from {{ ref('stg_contracts') }} k
    join {{ ref('stg_contract_volumes') }} v on v.contract_id = k.contract_id
    join forecast f on f.customer_id = k.customer_id and f.period = v.period
    where cast(v.period || '-01' as date) > f.origin_day
      and cast(v.period || '-01' as date) between k.start_date and k.end_date
      and v.contracted_kwh > 0
),

prices as (
    {{ latest_energy_prices(ref('fct_settlement_lines')) }}
),

priced as (
    select m.*, m.contracted_kwh as current_kwh, p.p_ref as price,
           m.deviation_clause_id as clause_id
    from months m
    left join prices p using (customer_id)
),

{{ least_cost_volume('priced', ['contract_id', 'period'], ref('deviation_clauses')) }}

select
    m.contract_id,
    m.customer_id,
    m.retailer_id,
    m.period,
    m.origin_day,
    cast(m.contracted_kwh as decimal(18, 3)) as contracted_kwh,
    cast(m.p10_kwh as decimal(18, 3)) as forecast_p10_kwh,
    cast(m.p50_kwh as decimal(18, 3)) as forecast_p50_kwh,
    cast(m.p90_kwh as decimal(18, 3)) as forecast_p90_kwh,
    m.price as energy_price_yuan_per_kwh,
    {{ least_cost_outcome('m') }}
from priced m
left join best b using (contract_id, period)
left join current_cost cc using (contract_id, period)
