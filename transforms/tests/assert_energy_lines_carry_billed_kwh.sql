{{ config(meta={'dagster': {'ref': {'name': 'bills'}}}) }}
-- Invariant: the energy lines of a bill (TOU blocks after the <1 kV remap, single price or
-- tiers) bill exactly the month's kWh, and T&D, system operation and funds bill it too.
select b.customer_id, b.period, b.billed_kwh, l.line_code, l.kwh
from {{ ref('bills') }} b
join (
    select customer_id, period,
           case when starts_with(line_code, 'energy_') then 'energy' else line_code end as line_code,
           sum(quantity) as kwh
    from {{ ref('bill_lines') }}
    where starts_with(line_code, 'energy_')
       or line_code in ('td_energy', 'system_operation', 'government_funds')
    group by all
) l using (customer_id, period)
where l.kwh <> b.billed_kwh
