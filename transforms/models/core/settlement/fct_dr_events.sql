{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook=[
        "{% if is_incremental() %}alter table {{ this }} add column if not exists source varchar default 'curtailment_plan';"
        " alter table {{ this }} add column if not exists event_id varchar;"
        " update {{ this }} set event_id = plan_id where event_id is null;"
        " alter table {{ this }} add column if not exists superseded_by varchar{% endif %}",
        "{{ delete_window('period_start') }}",
    ],
    tags=['monthly'],
) }}
-- Demand-response events (seed CN115271781A; config seed dr_packages; domain.md §5) of two
-- sources, each settled for the customers enrolled in a DR package on the month's first day
-- (master.dr_enrollments; the package version in force that day):
--   curtailment_plan: every curtailment plan (workflow.curtailment_results, the curtailment
--     evaluation's result for each affected customer);
--   dr_event_file: every event of the DR event file (inbox/dr_events; workflow.dr_event_results,
--     measured by the same baseline code, assets/workflows/curtailment/baseline.py).
-- One baseline, one rule:
--   delivered kWh = max(0, baseline kW − actual kW) × window minutes / 60;
--   committed kWh = committed kW × window minutes / 60 (macro kwh_for_minutes, exact);
--   load_reduction: paid kWh = min(delivered, max_paid_share × committed) when delivered ≥
--   min_delivery_share × committed, else 0; price_discount: nothing paid per event, but an
--   event with met = false forfeits the month's discount (core.int_dr_month).
-- Overlap (not paid twice): the file event wins. A plan's row for a customer is kept but not
-- settled (superseded_by = the file event, paid 0, not counted in core.int_dr_month) when an
-- event of the DR event file accepted for the same customer (workflow.dr_event_customers)
-- overlaps the plan's window (each starts before the other ends), in whatever month.
-- kWh 3 dp, half up. An event without a result yet is not an event here yet: the month is
-- settled again when its result arrives (re-settlement of a closed month).

with plan_results as (
    select 'curtailment_plan' as source, r.plan_id as event_id, r.plan_id, r.customer_id,
           r.baseline_kw, r.actual_kw, r.target_kw, r.met, p.window_start, p.window_end
    from {{ source('workflow', 'curtailment_results') }} r
    join {{ source('workflow', 'curtailment_plans') }} p using (plan_id)
),

file_results as (
    select 'dr_event_file' as source, r.event_id, cast(null as varchar) as plan_id,
           r.customer_id, r.baseline_kw, r.actual_kw, r.target_kw, r.met, e.window_start,
           e.window_end
    from {{ source('workflow', 'dr_event_results') }} r
    join {{ source('workflow', 'dr_events') }} e using (event_id)
),

results as (
    select *,
           cast(date_trunc('month', window_start) as date) as period_start,
           date_diff('minute', window_start, window_end) as window_minutes
    from (select * from plan_results union all select * from file_results)
    where window_start >= {{ window_start() }} and window_start < {{ window_end() }}
),

file_events as (
    select c.event_id, c.customer_id, e.window_start, e.window_end
    from {{ source('workflow', 'dr_event_customers') }} c
    join {{ source('workflow', 'dr_events') }} e using (event_id)
),

superseded as (
    select r.event_id, r.customer_id, min(f.event_id) as superseded_by
    from results r
    join file_events f
        on f.customer_id = r.customer_id
       and f.window_start < r.window_end and r.window_start < f.window_end
    where r.source = 'curtailment_plan'
    group by all
),

enrolled as (
    select r.*, s.superseded_by, e.dr_package_id, e.committed_kw, k.kind,
           k.incentive_yuan_per_kwh, k.min_delivery_share, k.max_paid_share,
           k.valid_from as dr_package_valid_from
    from results r
    {{ dr_enrollment_in_force('r') }}
    left join superseded s
        on r.source = 'curtailment_plan' and s.event_id = r.event_id
       and s.customer_id = r.customer_id
),

measured as (
    select *,
           {{ dr_delivered_kwh('baseline_kw', 'actual_kw', 'window_minutes') }}
               as delivered_kwh,
           {{ kwh_for_minutes('committed_kw', 'window_minutes') }} as committed_kwh
    from enrolled
)

select
    source,
    event_id,
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
    case when kind = 'load_reduction' and superseded_by is null
         then {{ dr_paid_kwh('delivered_kwh', 'committed_kwh', 'min_delivery_share',
                             'max_paid_share') }}
         else cast(0 as decimal(18, 3)) end as paid_kwh,
    incentive_yuan_per_kwh,
    superseded_by,
    case when superseded_by is not null
             then 'covered by DR event ' || superseded_by
                  || ' of the event file: settled there, not paid twice'
         when baseline_kw is null or actual_kw is null
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
