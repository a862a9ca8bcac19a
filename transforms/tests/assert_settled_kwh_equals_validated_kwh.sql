{{ config(meta={'dagster': {'ref': {'name': 'bills'}}}) }}
-- Invariant: billed kWh per customer and month equals the validated kWh of its meters, exactly.
with validated as (
    select customer_id, strftime(interval_start, '%Y-%m') as period, sum(value) as kwh
    from {{ ref('int_interval_validated') }}
    where channel = 'kwh_imp' and customer_id is not null
    group by all
)

select b.customer_id, b.period, b.billed_kwh, v.kwh
from {{ ref('bills') }} b
left join validated v using (customer_id, period)
where v.kwh is null or b.billed_kwh <> v.kwh
