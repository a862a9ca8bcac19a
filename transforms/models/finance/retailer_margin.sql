{{ config(
    materialized='incremental', incremental_strategy='append', schema='finance',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- finance.retailer_margin, per retailer and month: retail energy revenue − wholesale cost = the
-- wholesale–retail spread (批零差); the portfolio deviation and its forecast cost
-- (core.fct_portfolio_deviation); the posted margin guarantee (restricted.retailers; only the
-- amount is read, never bank data). at_risk when the negative spread plus the forecast
-- deviation cost exceeds the guarantee (domain.md §4, CN114066642A).
-- Revenue = the energy lines of the current settlement, which equal the issued energy lines
-- plus their adjustments (tested: assert_adjusted_lines_equal_current_settlement). Reading them
-- from core keeps this model (and marts.alerts, which reads it) in the settlement asset group,
-- independent of the finance tables; hence it lives in models/intermediate.

with revenue as (
    select customer_id, period, amount_yuan
    from {{ ref('fct_settlement_lines') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and starts_with(line_code, 'energy_')
),

by_retailer as (
    select cm.retailer_id, r.period, sum(r.amount_yuan) as revenue_yuan
    from revenue r
    join {{ ref('int_customer_month') }} cm using (customer_id, period)
    group by all
),

portfolio as (
    select * from {{ ref('fct_portfolio_deviation') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

guarantees as (
    select retailer_id, margin_guarantee_yuan, valid_from, valid_to
    from {{ source('restricted', 'retailers') }}
),

margin as (
    select
        p.*,
        cast(coalesce(b.revenue_yuan, 0) as decimal(18, 2)) as retail_revenue_yuan,
        g.margin_guarantee_yuan
    from portfolio p
    left join by_retailer b on b.retailer_id = p.retailer_id and b.period = p.period
    left join guarantees g
        on g.retailer_id = p.retailer_id
       and p.period_start >= g.valid_from and (g.valid_to is null or p.period_start <= g.valid_to)
)

select
    retailer_id,
    period,
    period_start,
    customers,
    settled_kwh,
    retail_revenue_yuan,
    wholesale_kwh,
    wholesale_cost_yuan,
    wholesale_cost_source,
    cast(retail_revenue_yuan - wholesale_cost_yuan as decimal(18, 2)) as spread_yuan,
    {{ price6('(retail_revenue_yuan - wholesale_cost_yuan) / nullif(settled_kwh, 0)') }}
        as spread_yuan_per_kwh,
    contracted_kwh,
    deviation_kwh as portfolio_deviation_kwh,
    deviation_ratio as portfolio_deviation_ratio,
    forecast_kwh,
    forecast_deviation_kwh,
    forecast_deviation_cost_yuan,
    cast(margin_guarantee_yuan as decimal(18, 2)) as margin_guarantee_yuan,
    cast(greatest(wholesale_cost_yuan - retail_revenue_yuan, 0) + forecast_deviation_cost_yuan
         as decimal(18, 2)) as risk_exposure_yuan,
    greatest(wholesale_cost_yuan - retail_revenue_yuan, 0) + forecast_deviation_cost_yuan
        > coalesce(margin_guarantee_yuan, 0) as is_at_risk
from margin
