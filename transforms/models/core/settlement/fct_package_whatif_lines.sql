{{ config(tags=['monthly']) }}
-- The settlement lines of each customer-month of the what-if window re-priced under every
-- package it is eligible for (core.int_package_eligibility, its own package included), with the
-- pricing of the bills: the macro settlement_lines (macros/settlement.sql) that
-- core.fct_settlement_lines uses, on the same segments, determinants, tariff prices,
-- parameters and deviation tiers, each row priced with the candidate package (its version in
-- force on the month's first day). For the customer's own package the lines equal
-- core.fct_settlement_lines (dbt test assert_whatif_current_package_equals_settlement_lines).
-- Issue 11, package recommendation by re-rating (domain.md §9, after CN118212027A [S1]).

with candidates as (
    select customer_id, period, period_start, package_id, model_code, package_valid_from,
           is_current
    from {{ ref('int_package_eligibility') }}
    where eligible
),

billable as (
    select * from {{ ref('int_customer_month') }} m
    where unbilled_reason is null
      and exists (select 1 from candidates c
                  where c.customer_id = m.customer_id and c.period = m.period)
),

segments as (
    select * from {{ ref('int_customer_month_segments') }} s
    where exists (select 1 from candidates c
                  where c.customer_id = s.customer_id and c.period_start = s.period_start)
),

-- the month's segments as billed (macro settlement_segment_rows), once per candidate package
cm as (
    select r.* replace (c.package_id as package_id, c.model_code as model_code,
                        c.package_valid_from as package_valid_from)
    from ({{ settlement_segment_rows('billable', 'segments') }}) r
    join candidates c on c.customer_id = r.customer_id and c.period = r.period
),

deviation_tiers as (
    select * from {{ ref('fct_deviation_tiers') }} d
    where exists (select 1 from candidates c
                  where c.customer_id = d.customer_id and c.period = d.period)
),

lines as (
    {{ settlement_lines('cm', 'deviation_tiers') }}
)

select
    l.customer_id,
    l.period,
    cast(l.period || '-01' as date) as period_start,
    l.package_id,
    c.is_current,
    l.segment_no,
    l.line_no,
    l.line_code,
    {{ is_package_dependent_line('l.line_code') }} as package_dependent,
    cast(l.quantity as decimal(18, 3)) as quantity,
    l.unit,
    cast(l.unit_price as decimal(18, 8)) as unit_price,
    cast(l.amount_yuan as decimal(18, 2)) as amount_yuan
from lines l
join candidates c using (customer_id, period, package_id)
