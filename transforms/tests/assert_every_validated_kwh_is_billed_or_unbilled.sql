{{ config(meta={'dagster': {'ref': {'name': 'unbilled'}}}) }}
-- Completeness invariant, from the meters' side: in every settled month (a settlement run
-- exists), the validated kWh of each customer's metering points (or of a metering point
-- without customer) = kWh on its bill (finance.bills.billed_kwh, + the td_energy kWh
-- adjustments of a locked month) + kWh listed in finance.unbilled. A customer-month whose kWh
-- reach no bill and no unbilled row (the issue-9 customer starting on the 16th), a bill that
-- bills days out of service, or kWh both billed and unbilled all fail here.
-- Checks the run's window (all months when dbt runs without window vars).
with settled as (
    select distinct period from {{ ref('int_settlement_run') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

validated as (
    select coalesce(customer_id, meter_id) as subject_id, strftime(reading_date, '%Y-%m') as period,
           coalesce(sum(value), 0) as kwh
    from {{ ref('int_interval_validated') }}
    where channel = 'kwh_imp'
      and reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
    group by all
),

billed as (
    select customer_id as subject_id, period, billed_kwh as kwh
    from {{ ref('bills') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

adjusted as (
    select customer_id as subject_id, period, sum(quantity_delta) as kwh
    from {{ ref('adjustments') }}
    where line_code = 'td_energy'
      and period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

unbilled as (
    select coalesce(customer_id, meter_id) as subject_id, period, sum(kwh) as kwh
    from {{ ref('unbilled') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

subjects as (
    select subject_id, period from validated
    union select subject_id, period from billed
    union select subject_id, period from adjusted
    union select subject_id, period from unbilled
)

select s.subject_id, s.period, v.kwh as validated_kwh, b.kwh as billed_kwh,
       a.kwh as adjusted_kwh, u.kwh as unbilled_kwh
from subjects s
join settled using (period)
left join validated v using (subject_id, period)
left join billed b using (subject_id, period)
left join adjusted a using (subject_id, period)
left join unbilled u using (subject_id, period)
where coalesce(v.kwh, 0) <> coalesce(b.kwh, 0) + coalesce(a.kwh, 0) + coalesce(u.kwh, 0)
