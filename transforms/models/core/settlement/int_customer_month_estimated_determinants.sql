{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Billing determinants resting on estimates (issue 9), one row per customer and month with
-- at least one estimated or failed import interval on a day in service (the others rest on
-- reads only). int_customer_month joins it; finance.bills carries the fact and
-- finance.bill_holds applies the estimated_determinant_policy.
--
-- Max demand rests on an estimate when either
--   (a) an interval VEE replaced after a failed check (ESTIMATED or FAILED, failed_rules set,
--       not a mere multiplier rescale) was READ above the month's validated maximum demand —
--       the read would have set the determinant (the 600 kW overload interpolated to 150 kW) —
--       and the read is a load the connection can carry: at most
--       estimated_demand_plausible_factor × the contract capacity (kW per kVA; a read of 20 ×
--       the transformer is a meter fault, not a demand; it is still a meter_anomaly), or
--   (b) the validated maximum is reached by an ESTIMATED interval and by no read (ACTUAL) or
--       approved edit (EDITED) interval.
-- An approved manual edit (EDITED) or a register-confirmed read (ACTUAL) of that interval ends
-- both. Per meter: for a customer with several meters the interval kW are the meter's own
-- (the summed maximum can only be larger), a conservative reading.
-- Blocks: estimated kWh / kWh of each TOU block (core.int_customer_month_blocks, days in
-- service) against settlement parameter estimated_block_share_max in force on the first day.

-- the import intervals replaced after a failed check on days in service (only these rows and,
-- for (b), the reads of the few customer-months concerned are read: never the whole month)
with replaced as (
    select v.customer_id, cast(date_trunc('month', v.reading_date) as date) as period_start,
           v.interval_start, v.quality_flag,
           round(v.value * 60.0 / v.interval_minutes, 3) as kw,
           case when c.contract_capacity_kva is null or pp.value is null
                     or v.raw_value * 60.0 / v.interval_minutes <= pp.value * c.contract_capacity_kva
                then round(v.raw_value * 60.0 / v.interval_minutes, 3) end as raw_kw
    from {{ ref('int_interval_validated') }} v
    join {{ ref('int_customer_service_days') }} s
        on s.customer_id = v.customer_id and s.day = v.reading_date and s.in_service
    join {{ ref('stg_customers') }} c
        on c.customer_id = s.customer_id and c.valid_from = s.customer_valid_from
    left join {{ ref('settlement_parameters') }} pp
        on pp.parameter = 'estimated_demand_plausible_factor'
       and date_trunc('month', v.reading_date) >= pp.valid_from
       and (pp.valid_to is null or date_trunc('month', v.reading_date) <= pp.valid_to)
    where v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
      and s.day >= {{ window_start() }} and s.day < {{ window_end() }}
      and v.channel = 'kwh_imp' and v.quality_flag in ('ESTIMATED', 'FAILED')
      and v.failed_rules is not null and v.method <> 'multiplier_rescale'
),

-- the month's validated maximum demand over the days in service (as int_customer_month: the
-- largest of its segments')
demand as (
    select customer_id, period_start, max(max_demand_kw) as max_demand_kw
    from {{ ref('int_customer_month_segments') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and customer_id in (select customer_id from replaced)
    group by all
),

per_month as (
    select customer_id, period_start,
           max(kw) filter (where quality_flag = 'ESTIMATED') as estimated_max_kw,
           max(raw_kw) as replaced_read_max_kw,
           arg_max(interval_start, raw_kw) filter (where raw_kw is not null) as replaced_read_interval,
           arg_max(interval_start, kw) filter (where quality_flag = 'ESTIMATED') as estimated_max_interval,
           count(*) as replaced_intervals
    from replaced
    group by all
),

-- (b): is the validated maximum also reached by a read or an approved edit?
candidates as (
    select p.customer_id, p.period_start, d.max_demand_kw
    from per_month p
    join demand d on d.customer_id = p.customer_id and d.period_start = p.period_start
    where p.estimated_max_kw >= d.max_demand_kw
),

reached_by_reads as (
    select distinct c.customer_id, c.period_start
    from {{ ref('int_interval_validated') }} v
    join candidates c
        on c.customer_id = v.customer_id
       and c.period_start = cast(date_trunc('month', v.reading_date) as date)
    join {{ ref('int_customer_service_days') }} s
        on s.customer_id = v.customer_id and s.day = v.reading_date and s.in_service
    where v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
      and s.day >= {{ window_start() }} and s.day < {{ window_end() }}
      and v.channel = 'kwh_imp' and v.quality_flag in ('ACTUAL', 'EDITED')
      and round(v.value * 60.0 / v.interval_minutes, 3) >= c.max_demand_kw
),

params as (
    select p.period_start, max(s.value) as share_max
    from (select distinct period_start from per_month) p
    join {{ ref('settlement_parameters') }} s
        on s.parameter = 'estimated_block_share_max'
       and p.period_start >= s.valid_from and (s.valid_to is null or p.period_start <= s.valid_to)
    group by all
),

blocks as (
    select b.customer_id, b.period_start,
           string_agg(b.block, ';' order by b.block)
               filter (where b.estimated_kwh > pr.share_max * b.kwh) as estimated_blocks,
           max(b.estimated_kwh / nullif(b.kwh, 0)) as max_block_estimated_share
    from {{ ref('int_customer_month_blocks') }} b
    join params pr using (period_start)
    where b.period_start >= {{ window_start() }} and b.period_start < {{ window_end() }}
      and b.customer_id in (select customer_id from replaced)
    group by all
)

select
    p.customer_id,
    p.period_start,
    strftime(p.period_start, '%Y-%m') as period,
    d.max_demand_kw,
    coalesce(p.replaced_read_max_kw > d.max_demand_kw, false)
        or coalesce(p.estimated_max_kw >= d.max_demand_kw and r.customer_id is null, false)
        as demand_on_estimate,
    cast(case when p.replaced_read_max_kw > d.max_demand_kw then p.replaced_read_max_kw
              else d.max_demand_kw end as decimal(18, 3)) as demand_read_max_kw,
    case when p.replaced_read_max_kw > d.max_demand_kw then p.replaced_read_interval
         when p.estimated_max_kw >= d.max_demand_kw and r.customer_id is null
             then p.estimated_max_interval end as demand_estimate_interval,
    b.estimated_blocks,
    cast(round(b.max_block_estimated_share, 4) as decimal(9, 4)) as max_block_estimated_share,
    cast(p.replaced_intervals as bigint) as replaced_intervals
from per_month p
left join demand d on d.customer_id = p.customer_id and d.period_start = p.period_start
left join reached_by_reads r on r.customer_id = p.customer_id and r.period_start = p.period_start
left join blocks b on b.customer_id = p.customer_id and b.period_start = p.period_start
