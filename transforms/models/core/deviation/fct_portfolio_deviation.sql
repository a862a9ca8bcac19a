{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- The retailer's portfolio deviation per month (domain.md §4: a retailer bears the deviation of
-- its aggregate portfolio): ΔQ = settled kWh of all its customers − kWh bought wholesale.
-- Bought kWh and cost come from seeds/config/wholesale_costs.csv; a missing row is derived:
-- bought = Σ contracted kWh (settled kWh for customers without a contracted volume), cost =
-- bought × the month's market_avg index (wholesale_cost_source says which).
-- Forecast: the month-to-date pace of contracted customers (their kWh so far / the contracted
-- kWh of the days up to their last day with reads, from the daily decomposition) projects the
-- rest of the month; a complete month forecasts itself.
-- Forecast deviation cost = tiers of clause DEV_PORTFOLIO (seed portfolio_deviation_clauses)
-- on |forecast ΔQ| / bought kWh × the average wholesale price.

with cm as (
    select * from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

retail as (
    select retailer_id, period, period_start,
           count(*) as customers,
           sum(kwh) as settled_kwh,
           sum(contracted_kwh) filter (where contracted_kwh > 0) as contracted_kwh,
           sum(case when contracted_kwh > 0 then contracted_kwh else kwh end) as derived_bought_kwh
    from cm
    group by all
),

-- month to date: the contracted kWh of the days up to each customer's last day with reads
customer_progress as (
    select v.customer_id, v.period,
           sum(v.contracted_kwh) as contracted_total_kwh,
           sum(v.contracted_kwh) filter (where v.day <= d.last_reading_date) as contracted_to_date_kwh
    from {{ ref('int_contract_daily_volumes') }} v
    left join {{ ref('int_customer_month_demand') }} d
        on d.customer_id = v.customer_id and d.period = v.period
    where v.period_start >= {{ window_start() }} and v.period_start < {{ window_end() }}
    group by all
),

progress as (
    select cm.retailer_id, cm.period,
           sum(p.contracted_total_kwh) as contracted_total_kwh,
           sum(p.contracted_to_date_kwh) as contracted_to_date_kwh,
           sum(cm.kwh) as actual_to_date_kwh
    from customer_progress p
    join cm using (customer_id, period)
    group by all
),

wholesale as (
    select retailer_id, period, wholesale_kwh, wholesale_cost_yuan from {{ ref('wholesale_costs') }}
),

market as (
    select period, price from {{ ref('market_index_prices') }} where index_code = 'market_avg'
),

priced as (
    select
        r.*,
        coalesce(w.wholesale_kwh, r.derived_bought_kwh) as bought_kwh,
        coalesce(w.wholesale_cost_yuan, {{ money('r.derived_bought_kwh * m.price') }}) as wholesale_cost_yuan,
        case when w.retailer_id is not null then 'wholesale_costs' else 'derived_market_avg' end
            as wholesale_cost_source,
        -- the rest of the month at the month-to-date pace of the contracted customers
        r.settled_kwh + coalesce((p.contracted_total_kwh - p.contracted_to_date_kwh)
                                 * p.actual_to_date_kwh / nullif(p.contracted_to_date_kwh, 0), 0)
            as forecast_kwh
    from retail r
    left join wholesale w on w.retailer_id = r.retailer_id and w.period = r.period
    left join market m on m.period = r.period
    left join progress p on p.retailer_id = r.retailer_id and p.period = r.period
),

measured as (
    select *,
           settled_kwh - bought_kwh as deviation_kwh,
           forecast_kwh - bought_kwh as forecast_deviation_kwh,
           {{ price6('wholesale_cost_yuan / nullif(bought_kwh, 0)') }} as wholesale_price_yuan_per_kwh
    from priced
),

tiers as (
    select m.retailer_id, m.period,
           sum({{ deviation_tier_kwh('abs(m.forecast_deviation_kwh)', 'm.bought_kwh',
                                     'c.lower_ratio', 'c.upper_ratio') }}
               * c.coefficient * m.wholesale_price_yuan_per_kwh) as cost_yuan
    from measured m
    join {{ ref('portfolio_deviation_clauses') }} c
        on c.deviation_clause_id = 'DEV_PORTFOLIO'
       and m.period_start >= c.valid_from and (c.valid_to is null or m.period_start <= c.valid_to)
    group by all
)

select
    m.retailer_id,
    m.period,
    m.period_start,
    m.customers,
    cast(m.settled_kwh as decimal(18, 3)) as settled_kwh,
    cast(m.contracted_kwh as decimal(18, 3)) as contracted_kwh,
    cast(m.bought_kwh as decimal(18, 3)) as wholesale_kwh,
    cast(m.wholesale_cost_yuan as decimal(18, 2)) as wholesale_cost_yuan,
    m.wholesale_cost_source,
    m.wholesale_price_yuan_per_kwh,
    cast(m.deviation_kwh as decimal(18, 3)) as deviation_kwh,
    cast(round(m.deviation_kwh / nullif(m.bought_kwh, 0), 6) as decimal(18, 6)) as deviation_ratio,
    cast(m.forecast_kwh as decimal(18, 3)) as forecast_kwh,
    cast(m.forecast_deviation_kwh as decimal(18, 3)) as forecast_deviation_kwh,
    {{ money('coalesce(t.cost_yuan, 0)') }} as forecast_deviation_cost_yuan
from measured m
left join tiers t on t.retailer_id = m.retailer_id and t.period = m.period
