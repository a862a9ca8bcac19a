{{ config(meta={'dagster': {'ref': {'name': 'bills'}}}) }}
-- Invariant: every bill's total equals the sum of its lines, to the fen.
select b.customer_id, b.period, b.total_yuan, sum(l.amount_yuan) as lines_yuan
from {{ ref('bills') }} b
join {{ ref('bill_lines') }} l using (customer_id, period)
group by all
having b.total_yuan <> sum(l.amount_yuan)
