{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Alerts per month: one row per subject and alert type (not per interval).
-- capacity_exceeded: max interval kW > factor × contract kVA on ≥ N days (domain.md §8 audit);
-- deviation_risk: |actual − contracted| / contracted above the configured ratio;
-- meter_anomaly: a meter with negative or spiking reads, or unestimated gaps, in the month.

with params as (
    select
        max(case when parameter = 'capacity_audit_min_days' then value end)::int as min_days,
        max(case when parameter = 'capacity_audit_factor' then value end)::double as factor,
        max(case when parameter = 'deviation_risk_ratio' then value end)::double as risk_ratio
    from {{ ref('settlement_parameters') }}
    where valid_to is null
),

capacity as (
    select 'capacity_exceeded' as alert_type, 'capacity' as rule, d.customer_id, cast(null as varchar) as meter_id,
           d.period, d.period_start,
           cast(d.max_demand_kw as double) as metric_value,
           p.factor * d.contract_capacity_kva as threshold,
           d.days_over_capacity || ' days over ' || p.factor || ' × ' || d.contract_capacity_kva
               || ' kVA; max ' || d.max_demand_kw || ' kW' as detail
    from {{ ref('int_customer_month_demand') }} d cross join params p
    where d.period_start >= {{ window_start() }} and d.period_start < {{ window_end() }}
      and d.days_over_capacity >= p.min_days
),

deviation as (
    select distinct 'deviation_risk', 'deviation', t.customer_id, cast(null as varchar), t.period, t.period_start,
           cast(t.deviation_ratio as double), p.risk_ratio,
           'actual ' || t.kwh || ' kWh vs contracted ' || t.contracted_kwh || ' kWh'
    from {{ ref('fct_deviation_tiers') }} t cross join params p
    where t.period_start >= {{ window_start() }} and t.period_start < {{ window_end() }}
      and abs(t.deviation_ratio) > p.risk_ratio
),

meter_rules as (
    select customer_id, meter_id, strftime(interval_start, '%Y-%m') as period,
           cast(date_trunc('month', interval_start) as date) as period_start,
           failed_rule, count(*) as n_intervals
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and failed_rule in ('negative', 'spike')
    group by all
),

meters as (
    select 'meter_anomaly', failed_rule, customer_id, meter_id, period, period_start,
           cast(n_intervals as double), cast(0 as double),
           failed_rule || ': ' || n_intervals || ' intervals'
    from meter_rules
)

select alert_type || ':' || coalesce(meter_id, customer_id) || ':' || period || ':' || rule
           as alert_id,
       *
from (
    select * from capacity
    union all select * from deviation
    union all select * from meters
)
