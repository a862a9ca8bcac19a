{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- One row per customer and month: metered totals, demand, the customer, contract and package
-- versions in force, and every unit price the bill needs (effective-dated config rows).

with totals as (
    select customer_id, period_start, period,
           sum(kwh) as kwh, sum(kvarh) as kvarh, sum(estimated_kwh) as estimated_kwh,
           sum(failed_intervals) as failed_intervals
    from {{ ref('int_customer_month_blocks') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

customers as (
    select * from {{ ref('stg_customers') }}
),

contracts as (
    select * from {{ ref('stg_contracts') }}
),

tariffs as (
    select tariff_code, voltage_level, tariff_type, price, valid_from,
           coalesce(valid_to, date '9999-12-31') as valid_to
    from {{ ref('tariffs') }}
    where grid = 'jibei'
),

priced as (
    select
        t.customer_id, t.period_start,
        max(case when tf.tariff_code = 'td_energy' then tf.price end) as td_energy_price,
        max(case when tf.tariff_code = 'system_operation' then tf.price end) as system_operation_price,
        max(case when tf.tariff_code = 'government_funds' then tf.price end) as government_funds_price,
        max(case when tf.tariff_code = 'line_loss_rate' then tf.price end) as line_loss_rate,
        max(case when tf.tariff_code = 'basic_capacity' then tf.price end) as basic_capacity_price,
        max(case when tf.tariff_code = 'basic_demand' then tf.price end) as basic_demand_price
    from totals t
    join customers c
        on c.customer_id = t.customer_id
       and t.period_start >= c.valid_from and (c.valid_to is null or t.period_start <= c.valid_to)
    join tariffs tf
        on tf.voltage_level in (c.voltage_level, '*') and tf.tariff_type in (c.tariff_type, '*')
       and t.period_start between tf.valid_from and tf.valid_to
    group by all
)

select
    t.customer_id,
    t.period,
    t.period_start,
    c.retailer_id,
    k.contract_id,
    k.package_id,
    pk.model_code,
    k.deviation_clause_id,
    c.customer_class,
    c.voltage_level,
    c.tariff_type,
    c.pf_standard,
    c.basic_charge_mode,
    c.contract_capacity_kva,
    c.contract_demand_kw,
    c.transformer_kva,
    t.kwh,
    t.kvarh,
    t.estimated_kwh,
    t.failed_intervals,
    d.max_demand_kw,
    d.days_over_capacity,
    v.contracted_kwh,
    case when t.kwh > 0
        then cast(floor(100 * t.kwh / sqrt(t.kwh * t.kwh + t.kvarh * t.kvarh) + 0.5) as integer)
    end as pf_hundredths,
    p.td_energy_price,
    p.system_operation_price,
    p.government_funds_price,
    p.line_loss_rate,
    p.basic_capacity_price,
    p.basic_demand_price
from totals t
join customers c
    on c.customer_id = t.customer_id
   and t.period_start >= c.valid_from and (c.valid_to is null or t.period_start <= c.valid_to)
left join contracts k
    on k.customer_id = t.customer_id and t.period_start between k.start_date and k.end_date
left join {{ ref('retail_packages') }} pk on pk.package_id = k.package_id
left join {{ ref('stg_contract_volumes') }} v on v.contract_id = k.contract_id and v.period = t.period
left join {{ ref('int_customer_month_demand') }} d
    on d.customer_id = t.customer_id and d.period_start = t.period_start
left join priced p on p.customer_id = t.customer_id and p.period_start = t.period_start
