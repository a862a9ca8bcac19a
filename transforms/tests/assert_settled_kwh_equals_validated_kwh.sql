{{ config(meta={'dagster': {'ref': {'name': 'bills'}}}) }}
-- Invariant: settled kWh per customer and month equals the validated kWh of its meters on the
-- customer's days in service (core.int_customer_service_days), exactly. Settled = kWh on the
-- issued bill + the kWh adjustments of a locked month (every bill has one td_energy line whose
-- quantity is the month's kWh, so its deltas are the kWh corrections). The kWh of the other
-- days are in finance.unbilled (assert_every_validated_kwh_is_billed_or_unbilled).
-- Checks the run's window (all months when dbt runs without window vars).
with validated as (
    select v.customer_id, strftime(v.interval_start, '%Y-%m') as period, sum(v.value) as kwh
    from {{ ref('int_interval_validated') }} v
    join {{ ref('int_customer_service_days') }} s
        on s.customer_id = v.customer_id and s.day = v.reading_date and s.in_service
    where v.channel = 'kwh_imp' and v.customer_id is not null
      and v.reading_date >= {{ window_start() }} and v.reading_date < {{ window_end() }}
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
