{{ config(
    materialized='incremental', incremental_strategy='append', schema='finance',
    on_schema_change='append_new_columns',
    pre_hook=["{% if is_incremental() %}alter table {{ this }} add column if not exists forecast_source varchar{% endif %}",
              "{% if is_incremental() %}alter table {{ this }} add column if not exists forecast_origin_day date{% endif %}",
              "{{ delete_window('period_start') }}"],
    tags=['monthly'],
) }}
{#- Migration (issue 10): the two forecast columns are added to an existing table before its
    window is replaced (DuckDB refuses a column added in the transaction that appends rows);
    rows of other months keep them empty until their month runs again. -#}
{#- An open month's forward deviation cost comes from the load forecast's projection
    (forecast_job; issue 10 item 7): absent before forecast_job first ran, and under SQLMesh
    (the money preview), where the forecast models are disabled (no ref there). -#}
{%- set projection_columns = {'retailer_id': 'varchar', 'period': 'varchar', 'origin_day': 'date',
                              'projected_p50_kwh': 'decimal(18, 3)',
                              'expected_deviation_cost_yuan': 'decimal(18, 2)'} -%}
-- finance.retailer_margin, per retailer and month: retail energy revenue − wholesale cost = the
-- wholesale–retail spread (批零差); the portfolio deviation and its forecast cost
-- (core.fct_portfolio_deviation); the posted margin guarantee (restricted.retailers; only the
-- amount is read, never bank data). at_risk when the negative spread plus the forecast
-- deviation cost exceeds the guarantee (domain.md §4, CN114066642A).
-- Forecast of an open month (a month whose retailer's latest validated day is before its end):
-- the load forecast's projection (analytics.portfolio_projection: P50 projected kWh and the
-- expected deviation cost over P10/P50/P90 through clause DEV_PORTFOLIO) when its origin is that
-- latest day (the projection is as recent as the data), else the month-to-date pace of
-- core.fct_portfolio_deviation; a complete month forecasts itself (forecast_source).
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

last_read as (
    select cm.retailer_id, cm.period, max(d.last_reading_date) as last_reading_date
    from {{ ref('int_customer_month') }} cm
    join {{ ref('int_customer_month_demand') }} d using (customer_id, period)
    where cm.period_start >= {{ window_start() }} and cm.period_start < {{ window_end() }}
    group by all
),

projection as (
    select * from {{ relation_or_empty(none if var('gridledger_sqlmesh', false)
                                       else ref('portfolio_projection'), projection_columns) }}
),

forecast as (
    select p.retailer_id, p.period,
           case when l.last_reading_date >= last_day(p.period_start) then 'complete_month'
                when f.origin_day = l.last_reading_date and f.projected_p50_kwh is not null
                     and f.expected_deviation_cost_yuan is not null then 'load_forecast'
                else 'month_to_date_pace' end as forecast_source,
           f.origin_day, f.projected_p50_kwh, f.expected_deviation_cost_yuan
    from portfolio p
    left join last_read l using (retailer_id, period)
    left join projection f using (retailer_id, period)
),

guarantees as (
    select retailer_id, margin_guarantee_yuan, valid_from, valid_to
    from {{ source('restricted', 'retailers') }}
),

margin as (
    select
        p.* replace (
            case when f.forecast_source = 'load_forecast' then f.projected_p50_kwh
                 else p.forecast_kwh end as forecast_kwh,
            case when f.forecast_source = 'load_forecast'
                 then f.projected_p50_kwh - p.wholesale_kwh
                 else p.forecast_deviation_kwh end as forecast_deviation_kwh,
            case when f.forecast_source = 'load_forecast' then f.expected_deviation_cost_yuan
                 else p.forecast_deviation_cost_yuan end as forecast_deviation_cost_yuan
        ),
        f.forecast_source,
        case when f.forecast_source = 'load_forecast' then f.origin_day end
            as forecast_origin_day,
        cast(coalesce(b.revenue_yuan, 0) as decimal(18, 2)) as retail_revenue_yuan,
        g.margin_guarantee_yuan
    from portfolio p
    join forecast f using (retailer_id, period)
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
    cast(forecast_kwh as decimal(18, 3)) as forecast_kwh,
    cast(forecast_deviation_kwh as decimal(18, 3)) as forecast_deviation_kwh,
    cast(forecast_deviation_cost_yuan as decimal(18, 2)) as forecast_deviation_cost_yuan,
    forecast_source,
    forecast_origin_day,
    cast(margin_guarantee_yuan as decimal(18, 2)) as margin_guarantee_yuan,
    cast(greatest(wholesale_cost_yuan - retail_revenue_yuan, 0) + forecast_deviation_cost_yuan
         as decimal(18, 2)) as risk_exposure_yuan,
    greatest(wholesale_cost_yuan - retail_revenue_yuan, 0) + forecast_deviation_cost_yuan
        > coalesce(margin_guarantee_yuan, 0) as is_at_risk
from margin
