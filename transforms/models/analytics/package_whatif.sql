{{ config(tags=['monthly']) }}
-- Package what-if per customer, package and month (issue 11, package recommendation by
-- re-rating; domain.md §9 after CN118212027A [S1]): the customer's bill of each month of the
-- last 12 (core.int_package_eligibility) re-priced under every package, by the billing models
-- themselves (core.fct_package_whatif_lines: macro settlement_lines, as core.fct_settlement_lines).
-- Only the package-dependent lines change (macro is_package_dependent_line: energy, green
-- value, line loss, PF adjustment, deviation); the others (T&D, system operation, basic charge,
-- funds) are the actual bill's, so
--   total_yuan  = actual_total_yuan − actual package-dependent lines + what-if package-dependent
--   saving_yuan = actual_total_yuan − total_yuan   (> 0: the package is cheaper)
-- The actual bill is the month's current settlement (core.fct_settlement_lines). Every package
-- has a row; a package the customer cannot take that month has eligible = false, its reason and
-- no amounts. Money: sums of DECIMAL(18, 2) line amounts (money(quantity, unit_price)), exact.

with eligibility as (
    select * from {{ ref('int_package_eligibility') }}
),

whatif as (
    select customer_id, period, package_id,
           sum(amount_yuan) filter (where line_code like 'energy_%') as energy_yuan,
           sum(amount_yuan) filter (where line_code = 'green_value') as green_value_yuan,
           sum(amount_yuan) filter (where line_code = 'line_loss') as line_loss_yuan,
           sum(amount_yuan) filter (where line_code = 'pf_adjustment') as pf_adjustment_yuan,
           sum(amount_yuan) filter (where line_code like 'deviation_tier%') as deviation_yuan,
           sum(amount_yuan) filter (where package_dependent) as package_dependent_yuan
    from {{ ref('fct_package_whatif_lines') }}
    group by all
),

actual as (
    select l.customer_id, l.period,
           sum(l.amount_yuan) as actual_total_yuan,
           sum(l.amount_yuan) filter (where {{ is_package_dependent_line('l.line_code') }})
               as actual_package_dependent_yuan,
           sum(l.amount_yuan) filter (where l.line_code like 'deviation_tier%')
               as actual_deviation_yuan
    from {{ ref('fct_settlement_lines') }} l
    where exists (select 1 from eligibility e
                  where e.customer_id = l.customer_id and e.period = l.period)
    group by all
),

kwh as (
    select customer_id, period, kwh from {{ ref('int_customer_month') }}
),

joined as (
    select
        e.customer_id, e.period, e.period_start, e.package_id, e.model_code,
        e.current_package_id, e.is_current, e.eligible, e.reason,
        k.kwh,
        case when e.eligible then coalesce(w.energy_yuan, 0) end as energy_yuan,
        case when e.eligible then coalesce(w.green_value_yuan, 0) end as green_value_yuan,
        case when e.eligible then coalesce(w.line_loss_yuan, 0) end as line_loss_yuan,
        case when e.eligible then coalesce(w.pf_adjustment_yuan, 0) end as pf_adjustment_yuan,
        case when e.eligible then coalesce(w.deviation_yuan, 0) end as deviation_yuan,
        case when e.eligible then coalesce(w.package_dependent_yuan, 0) end
            as package_dependent_yuan,
        coalesce(a.actual_total_yuan, 0) - coalesce(a.actual_package_dependent_yuan, 0)
            as package_independent_yuan,
        coalesce(a.actual_total_yuan, 0) as actual_total_yuan,
        coalesce(a.actual_deviation_yuan, 0) as actual_deviation_yuan
    from eligibility e
    left join whatif w using (customer_id, period, package_id)
    left join actual a using (customer_id, period)
    left join kwh k using (customer_id, period)
)

select
    customer_id,
    period,
    period_start,
    package_id,
    model_code,
    current_package_id,
    is_current,
    eligible,
    reason,
    cast(kwh as decimal(18, 3)) as kwh,
    cast(energy_yuan as decimal(18, 2)) as energy_yuan,
    cast(green_value_yuan as decimal(18, 2)) as green_value_yuan,
    cast(line_loss_yuan as decimal(18, 2)) as line_loss_yuan,
    cast(pf_adjustment_yuan as decimal(18, 2)) as pf_adjustment_yuan,
    cast(deviation_yuan as decimal(18, 2)) as deviation_yuan,
    cast(package_dependent_yuan as decimal(18, 2)) as package_dependent_yuan,
    cast(package_independent_yuan as decimal(18, 2)) as package_independent_yuan,
    cast(package_independent_yuan + package_dependent_yuan as decimal(18, 2)) as total_yuan,
    cast(actual_total_yuan as decimal(18, 2)) as actual_total_yuan,
    cast(actual_total_yuan - (package_independent_yuan + package_dependent_yuan)
         as decimal(18, 2)) as saving_yuan,
    cast(deviation_yuan - actual_deviation_yuan as decimal(18, 2)) as deviation_change_yuan
from joined
