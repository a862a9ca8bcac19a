{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Demand-response events (seed CN115271781A; config seed dr_packages): every curtailment plan
-- whose window starts in the month is a DR event for each affected customer enrolled in a DR
-- package on the month's first day (master.dr_enrollments; the package version in force that
-- day). The event is settled from the curtailment evaluation's own result
-- (workflow.curtailment_results: baseline and actual average kW over the window, the same
-- baseline its notices report), never from a second baseline:
--   delivered kWh = max(0, baseline kW − actual kW) × window minutes / 60;
--   committed kWh = committed kW × window minutes / 60 (macro kwh_for_minutes, exact);
--   load_reduction: paid kWh = min(delivered, max_paid_share × committed) when delivered ≥
--   min_delivery_share × committed, else 0; price_discount: nothing paid per event, but an
--   event with met = false forfeits the month's discount (core.int_dr_month).
-- kWh 3 dp, half up. A plan without a result yet is not an event here yet: the
-- month is settled again when its result arrives (re-settlement of a closed month).

with results as (
    select r.plan_id, r.customer_id, r.baseline_kw, r.actual_kw, r.target_kw, r.met,
           p.window_start, p.window_end,
           cast(date_trunc('month', p.window_start) as date) as period_start,
           date_diff('minute', p.window_start, p.window_end) as window_minutes
    from {{ source('workflow', 'curtailment_results') }} r
    join {{ source('workflow', 'curtailment_plans') }} p using (plan_id)
    where p.window_start >= {{ window_start() }} and p.window_start < {{ window_end() }}
),

enrolled as (
    select r.*, e.dr_package_id, e.committed_kw, k.kind, k.incentive_yuan_per_kwh,
           k.min_delivery_share, k.max_paid_share, k.valid_from as dr_package_valid_from
    from results r
    {{ dr_enrollment_in_force('r') }}
),

measured as (
    select *,
           {{ dr_delivered_kwh('baseline_kw', 'actual_kw', 'window_minutes') }}
               as delivered_kwh,
           {{ kwh_for_minutes('committed_kw', 'window_minutes') }} as committed_kwh
    from enrolled
)

select
    plan_id,
    customer_id,
    strftime(period_start, '%Y-%m') as period,
    period_start,
    dr_package_id,
    dr_package_valid_from,
    kind,
    window_start,
    window_end,
    window_minutes,
    committed_kw,
    baseline_kw,
    actual_kw,
    target_kw,
    met,
    delivered_kwh,
    committed_kwh,
    case when kind = 'load_reduction'
         then {{ dr_paid_kwh('delivered_kwh', 'committed_kwh', 'min_delivery_share',
                             'max_paid_share') }}
         else cast(0 as decimal(18, 3)) end as paid_kwh,
    incentive_yuan_per_kwh,
    case when baseline_kw is null or actual_kw is null
             then 'no result: the window''s or the like days'' data are incomplete'
         when kind = 'price_discount' and met = false
             then 'target missed: the month''s discount is forfeited'
         when kind = 'price_discount' then 'target met'
         when delivered_kwh < min_delivery_share * committed_kwh
             then 'delivered below ' || cast(min_delivery_share as varchar)
                  || ' of the commitment: not paid'
         when delivered_kwh > max_paid_share * committed_kwh
             then 'paid up to ' || cast(max_paid_share as varchar) || ' × the commitment'
         else 'paid in full' end as settlement_note
from measured
