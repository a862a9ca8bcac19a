{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- One row per customer-month enrolled in a DR package on the month's first day (the package
-- version in force that day): the month's DR events (core.fct_dr_events, curtailment plans and
-- events of the DR event file; a plan superseded by an overlapping file event not counted), the
-- paid kWh and
-- incentive of a load_reduction package, and whether a price_discount package's discount
-- stands (forfeited by an event whose reduction missed its target). core.fct_settlement_lines
-- turns it into the bill lines dr_incentive and dr_discount.

with months as (
    select customer_id, period, period_start from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

enrolled as (
    select m.customer_id, m.period, m.period_start, e.dr_package_id, e.committed_kw, k.kind,
           k.valid_from as dr_package_valid_from, k.incentive_yuan_per_kwh, k.discount_share
    from months m
    {{ dr_enrollment_in_force('m') }}
),

events as (
    select customer_id, period, count(*) as events,
           count(*) filter (where met = false) as events_missed,
           sum(delivered_kwh) as delivered_kwh, sum(paid_kwh) as paid_kwh
    from {{ ref('fct_dr_events') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and superseded_by is null  -- settled by the overlapping event of the DR event file
    group by all
)

select
    e.customer_id,
    e.period,
    e.period_start,
    e.dr_package_id,
    e.dr_package_valid_from,
    e.kind,
    e.committed_kw,
    coalesce(v.events, 0) as events,
    coalesce(v.events_missed, 0) as events_missed,
    cast(coalesce(v.delivered_kwh, 0) as decimal(18, 3)) as delivered_kwh,
    cast(coalesce(v.paid_kwh, 0) as decimal(18, 3)) as paid_kwh,
    e.incentive_yuan_per_kwh,
    e.discount_share,
    e.kind = 'price_discount' and coalesce(v.events_missed, 0) > 0 as discount_forfeited
from enrolled e
left join events v using (customer_id, period)
