{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Forward retail risk per retailer and open month (seed CN114066642A; issue 10; domain.md §4;
-- docs/forecasting.md): finance.retailer_margin's rule on the projection instead of the
-- settled month. Projected retail energy revenue = Σ over the retailer's contracts of the P50
-- projected kWh × the customer's latest settled energy price (analytics.deviation_projection;
-- a contract without either is left out and counted); wholesale cost = the kWh bought × the
-- wholesale price (analytics.portfolio_projection); spread = revenue − cost; exposure = the
-- negative spread + the expected portfolio deviation cost; at risk when the exposure exceeds
-- the posted margin guarantee (restricted.retailers; only the amount is read).

with revenue as (
    select retailer_id, period,
           sum(projected_p50_kwh * energy_price_yuan_per_kwh) as revenue_yuan,
           count(*) filter (where projected_p50_kwh is null
                              or energy_price_yuan_per_kwh is null) as contracts_unpriced
    from {{ ref('deviation_projection') }}
    group by all
),

guarantees as (
    select retailer_id, margin_guarantee_yuan, valid_from, valid_to
    from {{ source('restricted', 'retailers') }}
),

projected as (
    select p.retailer_id, p.period, p.origin_day, p.projected_p50_kwh, p.bought_kwh,
           p.expected_deviation_cost_yuan, p.risk_state,
           {{ money('coalesce(r.revenue_yuan, 0)') }} as revenue_yuan,
           coalesce(r.contracts_unpriced, 0) as contracts_unpriced,
           {{ money('p.bought_kwh * p.wholesale_price_yuan_per_kwh') }} as wholesale_cost_yuan,
           g.margin_guarantee_yuan
    from {{ ref('portfolio_projection') }} p
    left join revenue r using (retailer_id, period)
    left join guarantees g
        on g.retailer_id = p.retailer_id
       and cast(p.period || '-01' as date) >= g.valid_from
       and (g.valid_to is null or cast(p.period || '-01' as date) <= g.valid_to)
)

select
    retailer_id,
    period,
    origin_day,
    cast(projected_p50_kwh as decimal(18, 3)) as projected_p50_kwh,
    cast(bought_kwh as decimal(18, 3)) as bought_kwh,
    revenue_yuan as projected_revenue_yuan,
    contracts_unpriced,
    wholesale_cost_yuan,
    cast(revenue_yuan - wholesale_cost_yuan as decimal(18, 2)) as projected_spread_yuan,
    cast(coalesce(expected_deviation_cost_yuan, 0) as decimal(18, 2))
        as expected_deviation_cost_yuan,
    cast(margin_guarantee_yuan as decimal(18, 2)) as margin_guarantee_yuan,
    cast(greatest(wholesale_cost_yuan - revenue_yuan, 0)
         + coalesce(expected_deviation_cost_yuan, 0) as decimal(18, 2)) as risk_exposure_yuan,
    greatest(wholesale_cost_yuan - revenue_yuan, 0) + coalesce(expected_deviation_cost_yuan, 0)
        > coalesce(margin_guarantee_yuan, 0) as is_at_risk
from projected
