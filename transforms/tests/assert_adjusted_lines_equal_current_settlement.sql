{{ config(meta={'dagster': {'ref': {'name': 'adjustments'}}}) }}
-- Invariant of re-settlement: for every line of a locked month, issued line + Σ adjustments =
-- the current computation (quantity and amount), so the money is always explained line by
-- line and nothing is lost or double-counted. Open months: issued = current.
with locked as (
    select period from {{ ref('period_close') }}
    where period in (select distinct period from {{ ref('bill_lines') }})
),

issued as (
    select customer_id, period, segment_no, line_code, quantity, amount_yuan from {{ ref('bill_lines') }}
),

adjusted as (
    select customer_id, period, segment_no, line_code,
           sum(quantity_delta) as quantity, sum(amount_delta_yuan) as amount_yuan
    from {{ ref('adjustments') }}
    group by all
),

current_lines as (
    select customer_id, period, segment_no, line_code, quantity, amount_yuan
    from {{ ref('fct_settlement_lines') }}
    where period in (select distinct period from {{ ref('bill_lines') }})
),

settled as (
    select customer_id, period, segment_no, line_code,
           coalesce(i.quantity, 0) + coalesce(a.quantity, 0) as quantity,
           coalesce(i.amount_yuan, 0) + coalesce(a.amount_yuan, 0) as amount_yuan
    from issued i
    full outer join adjusted a using (customer_id, period, segment_no, line_code)
)

select customer_id, period, segment_no, line_code,
       s.quantity as settled_quantity, c.quantity as current_quantity,
       s.amount_yuan as settled_yuan, c.amount_yuan as current_yuan,
       period in (select period from locked) as is_locked
from settled s
full outer join current_lines c using (customer_id, period, segment_no, line_code)
where coalesce(s.quantity, 0) <> coalesce(c.quantity, 0)
   or coalesce(s.amount_yuan, 0) <> coalesce(c.amount_yuan, 0)
