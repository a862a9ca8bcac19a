{{ config(meta={'dagster': {'ref': {'name': 'bills'}}}) }}
-- Invariant: settled kWh per customer and month equals the validated kWh of its meters, exactly.
-- Settled = kWh on the issued bill + the kWh adjustments of a locked month (every bill has one
-- td_energy line whose quantity is the month's kWh, so its deltas are the kWh corrections).
-- Checks the run's window (all months when dbt runs without window vars).
with validated as (
    select customer_id, strftime(interval_start, '%Y-%m') as period, sum(value) as kwh
    from {{ ref('int_interval_validated') }}
    where channel = 'kwh_imp' and customer_id is not null
      and reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
    group by all
),

adjusted as (
    select customer_id, period, sum(quantity_delta) as kwh
    from {{ ref('adjustments') }}
    where line_code = 'td_energy'
    group by all
)

select b.customer_id, b.period, b.billed_kwh, a.kwh as adjusted_kwh, v.kwh as validated_kwh
from {{ ref('bills') }} b
left join adjusted a using (customer_id, period)
left join validated v using (customer_id, period)
where b.period_start >= {{ window_start() }} and b.period_start < {{ window_end() }}
  and (v.kwh is null or b.billed_kwh + coalesce(a.kwh, 0) <> v.kwh)
