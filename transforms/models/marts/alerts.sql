{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Alerts per month: one row per subject and alert type (not per interval).
-- capacity_exceeded: max interval kW > factor × contract kVA on ≥ N days (domain.md §8 audit),
-- counted on the validated or the read maxima, whichever has more days (spikes VEE replaced still
-- count; metric_value is the larger maximum, the detail shows both);
-- deviation_risk: |actual − contracted| / contracted above the configured ratio;
-- meter_anomaly: one per meter and anomaly in core.meter_anomalies (stuck meter, reads stopped,
-- clock drift, repeated rule failures, register reset, repeated conflicts); the rule is the
-- anomaly's notice check (zero_run, completeness, time_check, negative, ...);
-- unbilled_energy: one per row of finance.unbilled with kWh > 0 (validated kWh on no bill); the
-- rule is the reason (no_contract, customer_not_active, no_tariff, ...); the subject is the
-- customer, or the meter when it has no customer. Notified to the account managers only.

with params as (
    select
        max(case when parameter = 'capacity_audit_min_days' then value end)::int as min_days,
        max(case when parameter = 'capacity_audit_factor' then value end)::double as factor,
        max(case when parameter = 'deviation_risk_ratio' then value end)::double as risk_ratio
    from {{ ref('settlement_parameters') }}
    where valid_to is null
),

-- retail_risk: the retailer's negative spread + forecast deviation cost exceeds its margin
-- guarantee (finance.retailer_margin). Subject = the retailer: retailer_id in customer_id.
retail_risk as (
    select 'retail_risk' as alert_type, 'margin' as rule, m.retailer_id as customer_id,
           cast(null as varchar) as meter_id, m.period, m.period_start,
           cast(m.risk_exposure_yuan as double) as metric_value,
           cast(m.margin_guarantee_yuan as double) as threshold,
           'spread ' || m.spread_yuan || ' 元, forecast deviation cost '
               || m.forecast_deviation_cost_yuan || ' 元, guarantee '
               || coalesce(m.margin_guarantee_yuan, 0) || ' 元' as detail
    from {{ ref('retailer_margin') }} m
    where m.period_start >= {{ window_start() }} and m.period_start < {{ window_end() }}
      and m.is_at_risk
),

capacity as (
    select 'capacity_exceeded' as alert_type, 'capacity' as rule, d.customer_id, cast(null as varchar) as meter_id,
           d.period, d.period_start,
           cast(greatest(d.max_demand_kw, coalesce(d.raw_max_demand_kw, d.max_demand_kw)) as double) as metric_value,
           p.factor * d.contract_capacity_kva as threshold,
           greatest(d.days_over_capacity, coalesce(d.raw_days_over_capacity, 0)) || ' days over '
               || p.factor || ' × ' || d.contract_capacity_kva
               || ' kVA; max ' || d.max_demand_kw || ' kW'
               || case when coalesce(d.raw_max_demand_kw, d.max_demand_kw) <> d.max_demand_kw
                            or coalesce(d.raw_days_over_capacity, 0) <> d.days_over_capacity
                       then ' validated, ' || d.raw_max_demand_kw || ' kW read (' || d.days_over_capacity
                            || ' validated / ' || d.raw_days_over_capacity
                            || ' read days over; spikes replaced by VEE)'
                       else '' end as detail
    from {{ ref('int_customer_month_demand') }} d cross join params p
    where d.period_start >= {{ window_start() }} and d.period_start < {{ window_end() }}
      and greatest(d.days_over_capacity, coalesce(d.raw_days_over_capacity, 0)) >= p.min_days
),

deviation as (
    select distinct 'deviation_risk', 'deviation', t.customer_id, cast(null as varchar), t.period, t.period_start,
           cast(t.deviation_ratio as double), p.risk_ratio,
           'actual ' || t.kwh || ' kWh vs contracted ' || t.contracted_kwh || ' kWh'
    from {{ ref('fct_deviation_tiers') }} t cross join params p
    where t.period_start >= {{ window_start() }} and t.period_start < {{ window_end() }}
      and abs(t.deviation_ratio) > p.risk_ratio
),

meters as (
    select 'meter_anomaly', a.notice_check, a.customer_id, a.meter_id, a.period, a.period_start,
           cast(a.n_intervals as double), a.threshold,
           a.anomaly || ': ' || a.detail
    from {{ ref('fct_meter_anomalies') }} a
    where a.period_start >= {{ window_start() }} and a.period_start < {{ window_end() }}
),

unbilled as (
    select 'unbilled_energy', u.reason, u.customer_id, u.meter_id, u.period, u.period_start,
           cast(u.kwh as double), cast(0 as double),
           u.kwh || ' kWh on ' || u.days || ' days (' || strftime(u.first_day, '%Y-%m-%d') || ' to '
               || strftime(u.last_day, '%Y-%m-%d') || ') not billed: ' || u.reason
    from {{ ref('unbilled') }} u
    where u.period_start >= {{ window_start() }} and u.period_start < {{ window_end() }}
      and u.kwh > 0
)

select alert_type || ':' || coalesce(meter_id, customer_id) || ':' || period || ':' || rule
           as alert_id,
       *
from (
    select * from capacity
    union all select * from deviation
    union all select * from meters
    union all select * from retail_risk
    union all select * from unbilled
)
