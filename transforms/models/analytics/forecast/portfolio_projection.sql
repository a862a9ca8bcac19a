{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Forward portfolio deviation risk per retailer (issue 10; domain.md §4: a retailer bears the
-- deviation of its aggregate portfolio; docs/forecasting.md): the open month's contract
-- projections (analytics.deviation_projection) summed per retailer (P10, P50 and P90 each
-- summed: the band of contracts that move together, the widest it can be) against the kWh it
-- bought wholesale, as core.fct_portfolio_deviation settles it: bought = the wholesale_costs
-- row of the month, else the sum of the contracted kWh; price = that row's cost / kWh, else
-- the month's market_avg index. Deviation cost through clause DEV_PORTFOLIO
-- (portfolio_deviation_clauses) with the one tier split (macro deviation_tier_kwh); expected
-- cost = 0.3 / 0.4 / 0.3 on P10 / P50 / P90; risk_state as the contract projection's. A contract
-- without a projection (no_forecast) is counted and taken at its contracted kWh (no deviation
-- assumed), so the sums stay comparable with the volume bought for every contract.

with projected as (
    select retailer_id, period, any_value(origin_day) as origin_day,
           cast(period || '-01' as date) as period_start,
           count(*) as contracts,
           count(*) filter (where projected_p50_kwh is null) as contracts_without_forecast,
           sum(contracted_kwh) as contracted_kwh,
           sum(coalesce(projected_p10_kwh, contracted_kwh)) as p10_kwh,
           sum(coalesce(projected_p50_kwh, contracted_kwh)) as p50_kwh,
           sum(coalesce(projected_p90_kwh, contracted_kwh)) as p90_kwh
    from {{ ref('deviation_projection') }}
    group by retailer_id, period
),

bought as (
    select p.*,
           coalesce(w.wholesale_kwh, p.contracted_kwh) as bought_kwh,
           {{ price6('coalesce(w.wholesale_cost_yuan / nullif(w.wholesale_kwh, 0), m.price)') }}
               as wholesale_price_yuan_per_kwh,
           case when w.retailer_id is not null then 'wholesale_costs'
                else 'contracted_market_avg' end as bought_source
    from projected p
    left join {{ ref('wholesale_costs') }} w
        on w.retailer_id = p.retailer_id and w.period = p.period
    left join {{ ref('market_index_prices') }} m
        on m.period = p.period and m.index_code = 'market_avg'
),

clauses as (
    select * from {{ ref('portfolio_deviation_clauses') }} where deviation_clause_id = 'DEV_PORTFOLIO'
),

scenarios as (
    select retailer_id, period, 0.1 as q, 0.3 as weight, p10_kwh as kwh from bought
    union all select retailer_id, period, 0.5, 0.4, p50_kwh from bought
    union all select retailer_id, period, 0.9, 0.3, p90_kwh from bought
),

costs as (
    select b.retailer_id, b.period,
           sum(s.weight * {{ deviation_tier_kwh('abs(s.kwh - b.bought_kwh)', 'b.bought_kwh',
                                                'k.lower_ratio', 'k.upper_ratio') }}
               * k.coefficient * b.wholesale_price_yuan_per_kwh) as expected_cost_yuan,
           sum({{ deviation_tier_kwh('abs(s.kwh - b.bought_kwh)', 'b.bought_kwh',
                                     'k.lower_ratio', 'k.upper_ratio') }}
               * k.coefficient * b.wholesale_price_yuan_per_kwh) filter (where s.q = 0.5)
               as p50_cost_yuan
    from bought b
    join scenarios s using (retailer_id, period)
    join clauses k
        on b.period_start >= k.valid_from and (k.valid_to is null or b.period_start <= k.valid_to)
    where b.p50_kwh is not null and b.bought_kwh > 0
    group by all
),

bands as (
    select max(upper_ratio) filter (where tier_no = 1) as free_band_ratio,
           max(upper_ratio) filter (where tier_no = 2) as tier2_upper_ratio,
           valid_from, valid_to
    from clauses group by valid_from, valid_to
)

select
    b.retailer_id,
    b.period,
    b.origin_day,
    b.contracts,
    b.contracts_without_forecast,
    cast(b.contracted_kwh as decimal(18, 3)) as contracted_kwh,
    cast(b.bought_kwh as decimal(18, 3)) as bought_kwh,
    b.bought_source,
    b.wholesale_price_yuan_per_kwh,
    cast(b.p10_kwh as decimal(18, 3)) as projected_p10_kwh,
    cast(b.p50_kwh as decimal(18, 3)) as projected_p50_kwh,
    cast(b.p90_kwh as decimal(18, 3)) as projected_p90_kwh,
    cast(round((b.p50_kwh - b.bought_kwh) / nullif(b.bought_kwh, 0), 6) as decimal(18, 6))
        as p50_deviation_ratio,
    {{ money('c.p50_cost_yuan') }} as p50_deviation_cost_yuan,
    {{ money('c.expected_cost_yuan') }} as expected_deviation_cost_yuan,
    case
        when b.p50_kwh is null or b.bought_kwh is null or b.bought_kwh = 0 then 'no_forecast'
        else {{ projected_risk_state('b.p10_kwh', 'b.p50_kwh', 'b.p90_kwh', 'b.bought_kwh',
                                     'd.free_band_ratio', 'd.tier2_upper_ratio') }}
    end as risk_state
from bought b
left join costs c using (retailer_id, period)
left join bands d
    on b.period_start >= d.valid_from and (d.valid_to is null or b.period_start <= d.valid_to)
