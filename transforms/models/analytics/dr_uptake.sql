{{ config(tags=['monthly']) }}
-- Demand-response uptake simulation (issue 11 item 5, seed CN115271781A): which customers
-- would gain from which DR package, had they been enrolled over the last 12 billed months (the
-- package what-if's window: up to the latest billable month before the run's window end).
-- Every curtailment plan that affected the customer is replayed under each DR package version
-- in force on the month's first day, with the same rules as the bills and one implementation:
--   load_reduction: the commitment is what the plan asked of the customer (its target kW);
--   delivered and committed kWh by macro kwh_for_minutes, paid kWh by macro dr_paid_kwh, gain
--   = paid kWh × incentive (macro money);
--   price_discount: gain = the month's energy lines × discount_share, except in a month with an
--   event that missed its target.
-- One row per customer and DR package: months, events, simulated gain (元, the negative of
-- the lines the bills would have carried), rank 1 = the largest gain (ties by package id), the
-- package the customer is enrolled in now.

with anchor as (
    select max(period_start) as last_month
    from {{ ref('int_customer_month') }}
    where unbilled_reason is null and period_start < {{ window_end() }}
),

months as (
    select m.customer_id, m.period, m.period_start
    from {{ ref('int_customer_month') }} m, anchor a
    where m.unbilled_reason is null
      and m.period_start <= a.last_month and m.period_start > a.last_month - interval 12 month
),

energy as (
    select customer_id, period, sum(amount_yuan) as energy_yuan
    from {{ ref('fct_settlement_lines') }}
    where line_code like 'energy_%'
    group by all
),

packages as (
    select m.customer_id, m.period, m.period_start, k.*
    from months m
    join {{ ref('dr_packages') }} k
        on k.valid_from <= m.period_start
       and coalesce(k.valid_to, date '9999-12-31') >= m.period_start
),

events as (
    select r.customer_id, strftime(p.window_start, '%Y-%m') as period, r.met, r.target_kw,
           date_diff('minute', p.window_start, p.window_end) as window_minutes,
           {{ dr_delivered_kwh('r.baseline_kw', 'r.actual_kw',
                               "date_diff('minute', p.window_start, p.window_end)") }}
               as delivered_kwh
    from {{ source('workflow', 'curtailment_results') }} r
    join {{ source('workflow', 'curtailment_plans') }} p using (plan_id)
),

replayed as (
    select k.customer_id, k.period, k.dr_package_id, k.kind, count(e.customer_id) as events,
           count(*) filter (where e.met = false) as events_missed,
           coalesce(sum({{ dr_paid_kwh('e.delivered_kwh',
                                       kwh_for_minutes('e.target_kw', 'e.window_minutes'),
                                       'k.min_delivery_share', 'k.max_paid_share') }})
                    filter (where k.kind = 'load_reduction'), 0) as paid_kwh,
           any_value(k.incentive_yuan_per_kwh) as incentive_yuan_per_kwh,
           any_value(k.discount_share) as discount_share
    from packages k
    left join events e using (customer_id, period)
    group by all
),

monthly_gain as (
    select r.*,
           case when r.kind = 'load_reduction'
                    then {{ money('r.paid_kwh', 'r.incentive_yuan_per_kwh') }}
                when r.events_missed = 0
                    then {{ money('coalesce(g.energy_yuan, 0)', 'r.discount_share') }}
                else cast(0 as decimal(18, 2)) end as gain_yuan
    from replayed r
    left join energy g using (customer_id, period)
),

enrolled as (
    select e.customer_id, e.dr_package_id
    from {{ source('master', 'dr_enrollments') }} e, anchor a
    where e.valid_from <= a.last_month
      and coalesce(e.valid_to, date '9999-12-31') >= a.last_month
),

summed as (
    select customer_id, dr_package_id, any_value(kind) as kind,
           cast(count(*) as integer) as months, cast(sum(events) as integer) as events,
           cast(count(*) filter (where kind = 'price_discount' and events_missed > 0)
                as integer) as months_forfeited,
           cast(sum(paid_kwh) as decimal(18, 3)) as paid_kwh,
           cast(sum(gain_yuan) as decimal(18, 2)) as gain_yuan
    from monthly_gain
    group by all
)

select
    s.customer_id,
    s.dr_package_id,
    s.kind,
    s.months,
    s.events,
    s.months_forfeited,
    s.paid_kwh,
    s.gain_yuan,
    {{ money('s.gain_yuan / s.months') }} as gain_per_month_yuan,
    cast(row_number() over (partition by s.customer_id
                            order by s.gain_yuan desc, s.dr_package_id) as integer) as rank,
    n.dr_package_id as enrolled_dr_package_id
from summed s
left join enrolled n using (customer_id)
