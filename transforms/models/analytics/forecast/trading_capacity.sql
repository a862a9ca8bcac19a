{#- Disabled under SQLMesh (the money preview; transforms/config.py sets the dbt var
    gridledger_sqlmesh): it reads tables only forecast_job writes. -#}
{{ config(tags=['forecast'], enabled=not var('gridledger_sqlmesh', false)) }}
-- Trading capacity from pre-signed users (seed CN118365448A; issue 10; domain.md §4;
-- docs/forecasting.md): per retailer and month of the forecast horizon, the customers signed
-- for that month by a `pre_signed` contract (master/contracts.csv) give a volume the retailer
-- can buy for now. Per customer: its monthly forecast (analytics.load_forecast_monthly, P10 /
-- P50 / P90: the same-period history where a year of it exists, adjusted to the current
-- level) — method `forecast`; else its validated kWh of the same month a year before — method
-- `history` (no band); else nothing (`no_data`, counted). Capacity = their sum.

with signed as (
    select k.contract_id, k.customer_id, k.retailer_id, v.period, v.contracted_kwh
    from {{ ref('stg_contracts') }} k
    join {{ ref('stg_contract_volumes') }} v on v.contract_id = k.contract_id
    where k.status = 'pre_signed'
      and cast(v.period || '-01' as date) between k.start_date and k.end_date
),

horizon as (
    select distinct period, origin_day from {{ source('analytics', 'load_forecast_monthly') }}
),

history as (
    select s.contract_id, s.period, sum(b.kwh) as kwh
    from signed s
    join {{ ref('int_customer_day_blocks') }} b
        on b.customer_id = s.customer_id
       and strftime(b.reading_date, '%Y-%m')
           = strftime(cast(s.period || '-01' as date) - interval 1 year, '%Y-%m')
    group by all
),

per_customer as (
    select s.*, h.origin_day, y.kwh as history_kwh,
           coalesce(f.p10_kwh, y.kwh) as p10_kwh,
           coalesce(f.p50_kwh, y.kwh) as p50_kwh,
           coalesce(f.p90_kwh, y.kwh) as p90_kwh,
           case when f.p50_kwh is not null then 'forecast'
                when y.kwh is not null then 'history' else 'no_data' end as method
    from signed s
    join horizon h using (period)
    left join {{ source('analytics', 'load_forecast_monthly') }} f
        on f.customer_id = s.customer_id and f.period = s.period
    left join history y on y.contract_id = s.contract_id and y.period = s.period
)

select
    retailer_id,
    period,
    any_value(origin_day) as origin_day,
    count(*) as contracts,
    count(*) filter (where method = 'forecast') as by_forecast,
    count(*) filter (where method = 'history') as by_history,
    count(*) filter (where method = 'no_data') as without_data,
    cast(sum(contracted_kwh) as decimal(18, 3)) as contracted_kwh,
    cast(sum(history_kwh) as decimal(18, 3)) as same_period_history_kwh,
    cast(sum(p10_kwh) as decimal(18, 3)) as capacity_p10_kwh,
    cast(sum(p50_kwh) as decimal(18, 3)) as capacity_p50_kwh,
    cast(sum(p90_kwh) as decimal(18, 3)) as capacity_p90_kwh
from per_customer
group by retailer_id, period
