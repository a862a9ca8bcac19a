{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Portfolio purchase-volume adjustment (seed CN113505338B; issue 10; domain.md §4: the retailer
-- bears its portfolio's deviation; docs/forecasting.md): per retailer and month not started at
-- the forecast's origin, the wholesale volume that minimises the expected portfolio deviation
-- cost. The portfolio forecast = Σ over its contracts' customers of the monthly forecast
-- (analytics.load_forecast_monthly; P10 / P50 / P90 each summed, as the projection does); the
-- current volume = the wholesale_costs row of the month, else Σ contracted kWh; price = that
-- row's cost per kWh, else market_avg; clause DEV_PORTFOLIO through the one tier split (macro
-- deviation_tier_kwh), 0.3 / 0.4 / 0.3 weights; the search is purchase_adjustment's (macro
-- least_cost_volume).

with months as (
    select k.retailer_id, v.period, cast(v.period || '-01' as date) as period_start,
           any_value(f.origin_day) as origin_day,
           sum(v.contracted_kwh) as contracted_kwh,
           sum(f.p10_kwh) as p10_kwh, sum(f.p50_kwh) as p50_kwh, sum(f.p90_kwh) as p90_kwh
    from {{ ref('stg_contracts') }} k
    join {{ ref('stg_contract_volumes') }} v on v.contract_id = k.contract_id
    join {{ source('analytics', 'load_forecast_monthly') }} f
        on f.customer_id = k.customer_id and f.period = v.period
    where cast(v.period || '-01' as date) > f.origin_day
      and cast(v.period || '-01' as date) between k.start_date and k.end_date
      and v.contracted_kwh > 0
    group by k.retailer_id, v.period
),

priced as (
    select m.*,
           coalesce(w.wholesale_kwh, m.contracted_kwh) as current_kwh,
           {{ price6('coalesce(w.wholesale_cost_yuan / nullif(w.wholesale_kwh, 0), x.price)') }}
               as price,
           'DEV_PORTFOLIO' as clause_id
    from months m
    left join {{ ref('wholesale_costs') }} w
        on w.retailer_id = m.retailer_id and w.period = m.period
    left join {{ ref('market_index_prices') }} x
        on x.period = m.period and x.index_code = 'market_avg'
),

{{ least_cost_volume('priced', ['retailer_id', 'period'], ref('portfolio_deviation_clauses')) }}

select
    p.retailer_id,
    p.period,
    p.origin_day,
    cast(p.contracted_kwh as decimal(18, 3)) as contracted_kwh,
    cast(p.current_kwh as decimal(18, 3)) as current_kwh,
    cast(p.p10_kwh as decimal(18, 3)) as forecast_p10_kwh,
    cast(p.p50_kwh as decimal(18, 3)) as forecast_p50_kwh,
    cast(p.p90_kwh as decimal(18, 3)) as forecast_p90_kwh,
    p.price as wholesale_price_yuan_per_kwh,
    {{ least_cost_outcome('p') }}
from priced p
left join best b using (retailer_id, period)
left join current_cost cc using (retailer_id, period)
