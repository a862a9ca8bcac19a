{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Forward deviation risk per contract (issue 10; domain.md §4; docs/forecasting.md): from the
-- load forecast's origin D (the last validated day), for the month of D + 1: projected
-- month-end kWh = validated kWh of the month up to D + the forecast of the month's remaining
-- days, at P10 / P50 / P90 (quantiles summed day by day: the band of perfectly correlated days,
-- the widest it can be). The deviation cost goes through the contract's clause with the one
-- tier split every deviation model uses (macro deviation_tier_kwh) at the customer's average
-- energy price of its latest settled month (the settlement's price base); expected cost =
-- 0.3 × cost(P10) + 0.4 × cost(P50) + 0.3 × cost(P90) (Swanson's rule for the mean from three
-- quantiles). risk_state: beyond_tier2 when P90 (over-use) or P10 (under-use) lies beyond tier
-- 2's upper ratio, outside_free_band when P50 lies outside tier 1, within_free_band otherwise;
-- no_forecast when the customer has no forecast for every remaining day (named in the
-- forecast asset's metadata), no_price when it has no settled month yet.

with origin as (
    select max(origin_day) as origin_day from {{ source('analytics', 'load_forecast_daily') }}
),

month as (
    select origin_day,
           cast(date_trunc('month', origin_day + 1) as date) as period_start,
           strftime(origin_day + 1, '%Y-%m') as period,
           cast(date_trunc('month', origin_day + 1) + interval 1 month - interval 1 day as date)
               as period_end
    from origin
    where origin_day is not null
),

contracts as (
    select k.contract_id, k.customer_id, k.retailer_id, k.deviation_clause_id,
           v.contracted_kwh, m.origin_day, m.period, m.period_start, m.period_end,
           m.period_end - greatest(m.origin_day, m.period_start - 1) as remaining_days
    from {{ ref('stg_contracts') }} k
    join month m on m.period_start between k.start_date and k.end_date
    join {{ ref('stg_contract_volumes') }} v
        on v.contract_id = k.contract_id and v.period = m.period
    where v.contracted_kwh > 0
),

actual as (
    select c.contract_id, coalesce(sum(b.kwh), 0) as actual_kwh,
           count(distinct b.reading_date) as actual_days
    from contracts c
    left join {{ ref('int_customer_day_blocks') }} b
        on b.customer_id = c.customer_id
       and b.reading_date between c.period_start and c.origin_day
    group by all
),

rest as (
    select c.contract_id, sum(f.p10_kwh) as rest_p10, sum(f.p50_kwh) as rest_p50,
           sum(f.p90_kwh) as rest_p90, count(*) as forecast_days
    from contracts c
    join {{ source('analytics', 'load_forecast_daily') }} f
        on f.customer_id = c.customer_id
       and f.target_day between c.period_start and c.period_end
    group by all
),

prices as (
    {{ latest_energy_prices(ref('fct_settlement_lines')) }}
),

projected as (
    select c.*, a.actual_kwh, a.actual_days, coalesce(r.forecast_days, 0) as forecast_days,
           p.p_ref, p.price_period,
           case when coalesce(r.forecast_days, 0) = c.remaining_days
                then a.actual_kwh + coalesce(r.rest_p10, 0) end as p10_kwh,
           case when coalesce(r.forecast_days, 0) = c.remaining_days
                then a.actual_kwh + coalesce(r.rest_p50, 0) end as p50_kwh,
           case when coalesce(r.forecast_days, 0) = c.remaining_days
                then a.actual_kwh + coalesce(r.rest_p90, 0) end as p90_kwh
    from contracts c
    join actual a using (contract_id)
    left join rest r using (contract_id)
    left join prices p using (customer_id)
),

clauses as (
    select * from {{ ref('deviation_clauses') }}
),

scenarios as (
    select contract_id, 0.1 as q, 0.3 as weight, p10_kwh as kwh from projected
    union all select contract_id, 0.5, 0.4, p50_kwh from projected
    union all select contract_id, 0.9, 0.3, p90_kwh from projected
),

scenario_costs as (
    select p.contract_id, s.q, s.weight,
           sum({{ deviation_tier_kwh('abs(s.kwh - p.contracted_kwh)', 'p.contracted_kwh',
                                     'k.lower_ratio', 'k.upper_ratio') }}
               * k.coefficient * p.p_ref) as cost_yuan
    from projected p
    join scenarios s using (contract_id)
    join clauses k
        on k.deviation_clause_id = p.deviation_clause_id
       and p.period_start >= k.valid_from and (k.valid_to is null or p.period_start <= k.valid_to)
    where p.p50_kwh is not null and p.p_ref is not null
    group by all
),

costs as (
    select contract_id, max(cost_yuan) filter (where q = 0.5) as p50_cost_yuan,
           sum(weight * cost_yuan) as expected_cost_yuan
    from scenario_costs
    group by contract_id
),

bands as (
    select p.contract_id,
           max(k.upper_ratio) filter (where k.tier_no = 1) as free_band_ratio,
           max(k.upper_ratio) filter (where k.tier_no = 2) as tier2_upper_ratio
    from projected p
    join clauses k
        on k.deviation_clause_id = p.deviation_clause_id
       and p.period_start >= k.valid_from and (k.valid_to is null or p.period_start <= k.valid_to)
    group by all
)

select
    p.contract_id,
    p.customer_id,
    p.retailer_id,
    p.period,
    p.origin_day,
    cast(p.contracted_kwh as decimal(18, 3)) as contracted_kwh,
    cast(p.actual_kwh as decimal(18, 3)) as actual_kwh,
    p.actual_days,
    p.forecast_days,
    cast(p.p10_kwh as decimal(18, 3)) as projected_p10_kwh,
    cast(p.p50_kwh as decimal(18, 3)) as projected_p50_kwh,
    cast(p.p90_kwh as decimal(18, 3)) as projected_p90_kwh,
    cast(round((p.p50_kwh - p.contracted_kwh) / p.contracted_kwh, 6) as decimal(18, 6))
        as p50_deviation_ratio,
    p.p_ref as energy_price_yuan_per_kwh,
    p.price_period,
    {{ money('c.p50_cost_yuan') }} as p50_deviation_cost_yuan,
    {{ money('c.expected_cost_yuan') }} as expected_deviation_cost_yuan,
    case
        when p.p50_kwh is null then 'no_forecast'
        when p.p_ref is null then 'no_price'
        else {{ projected_risk_state('p.p10_kwh', 'p.p50_kwh', 'p.p90_kwh', 'p.contracted_kwh',
                                     'b.free_band_ratio', 'b.tier2_upper_ratio') }}
    end as risk_state
from projected p
left join bands b using (contract_id)
left join costs c using (contract_id)
