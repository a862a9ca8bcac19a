{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_package_whatif_lines'}}}) }}
-- One pricing implementation: re-rated under the customer's own package, every what-if line
-- equals the settlement line of the bill (core.fct_settlement_lines), and no line is missing on
-- either side.
with whatif as (
    select customer_id, period, segment_no, line_code, quantity, unit_price, amount_yuan
    from {{ ref('fct_package_whatif_lines') }}
    where is_current
),

actual as (
    select customer_id, period, segment_no, line_code, quantity, unit_price, amount_yuan
    from {{ ref('fct_settlement_lines') }} l
    where l.line_code not like 'dr_%'  -- demand response: outside the package's pricing
      and exists (select 1 from {{ ref('int_package_eligibility') }} e
                  where e.customer_id = l.customer_id and e.period = l.period)
)

(select 'whatif_only' as side, * from (select * from whatif except all select * from actual))
union all
(select 'settlement_only' as side, * from (select * from actual except all select * from whatif))
