{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook=[
        "{% if is_incremental() %}alter table {{ this }} add column if not exists raw_max_demand_kw decimal(18, 3);"
        " alter table {{ this }} add column if not exists raw_days_over_capacity bigint{% endif %}",
        "{{ delete_window('period_start') }}",
    ],
    tags=['monthly'],
) }}
-- Maximum demand per customer and month: the largest interval-average kW of the customer's
-- summed meters (kWh × 60 / interval minutes; per day in core.int_customer_day_blocks), the days
-- on which it exceeded capacity_audit_factor (settlement_parameters, in force on the window's
-- first day; 1.2) × kVA, and the last day with validated reads (month-to-date forecasts).
-- Raw and validated side by side (issue 9): raw_max_demand_kw / raw_days_over_capacity are the
-- same measures with every interval VEE replaced after failing the spike rule taken at its read
-- value (raw_value; the other intervals as validated). A genuine overload VEE estimated away
-- still counts in the capacity audit (marts.alerts uses the larger day count). Only days with
-- such an interval are re-read from int_interval_validated; elsewhere raw = validated.

with params as (
    select max(case when parameter = 'capacity_audit_factor' then value end)::double as factor
    from {{ ref('settlement_parameters') }}
    where valid_from <= {{ window_start() }}
      and (valid_to is null or valid_to >= {{ window_start() }})
),

daily as (
    select customer_id, reading_date as day, max(max_kw) as max_kw
    from {{ ref('int_customer_day_blocks') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
    group by all
),

-- customer-days with an interval replaced after failing spike
spike_days as (
    select distinct customer_id, reading_date
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and channel = 'kwh_imp' and quality_flag in ('ESTIMATED', 'FAILED')
      and list_contains(string_split(failed_rules, ';'), 'spike')
),

-- the read demand of those days: spike intervals at their read value, summed over meters
raw_daily as (
    select customer_id, reading_date as day, max(kw) as raw_max_kw
    from (
        select v.customer_id, v.reading_date,
               sum(case when v.quality_flag in ('ESTIMATED', 'FAILED')
                             and list_contains(string_split(v.failed_rules, ';'), 'spike')
                        then v.raw_value else v.value end) * 60.0 / max(v.interval_minutes) as kw
        from {{ ref('int_interval_validated') }} v
        semi join spike_days s on s.customer_id = v.customer_id and s.reading_date = v.reading_date
        where v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
          and v.channel = 'kwh_imp'
        group by v.customer_id, v.reading_date, v.interval_start
    )
    group by all
),

capacity as (
    select customer_id, contract_capacity_kva from {{ ref('stg_customers') }} where valid_to is null
)

select
    d.customer_id,
    cast(date_trunc('month', d.day) as date) as period_start,
    strftime(d.day, '%Y-%m') as period,
    cast(max(d.max_kw) as decimal(18, 3)) as max_demand_kw,
    count(*) filter (where d.max_kw > p.factor * c.contract_capacity_kva) as days_over_capacity,
    any_value(c.contract_capacity_kva) as contract_capacity_kva,
    max(d.day) as last_reading_date,
    cast(max(coalesce(r.raw_max_kw, d.max_kw)) as decimal(18, 3)) as raw_max_demand_kw,
    count(*) filter (where coalesce(r.raw_max_kw, d.max_kw) > p.factor * c.contract_capacity_kva) as raw_days_over_capacity
from daily d
left join raw_daily r using (customer_id, day)
left join capacity c using (customer_id)
cross join params p
group by all
