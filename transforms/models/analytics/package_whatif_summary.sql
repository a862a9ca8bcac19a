{{ config(tags=['monthly']) }}
-- Package recommendation per customer (issue 11; domain.md §9 after CN118212027A [S1]): the
-- what-if months of analytics.package_whatif summed per customer and package, ranked. A package
-- is offered when it is eligible in the customer's latest month of the window (an expired
-- package is not offered: offered = false with that month's reason, no rank). Sums run over the
-- months the package was eligible (months); per month = sum / months (macro money, half away
-- from zero to 0.01 元). rank 1 = the largest saving per month against the current package
-- (the current package has saving 0, so a package ranked above it is cheaper); ties by
-- package_id.

with whatif as (
    select * from {{ ref('package_whatif') }}
),

latest as (
    select customer_id, max(period) as last_period from whatif group by all
),

summed as (
    select
        w.customer_id, w.package_id,
        any_value(w.current_package_id order by w.period desc) as current_package_id,
        bool_or(w.is_current and w.period = la.last_period) as is_current,
        bool_or(w.eligible and w.period = la.last_period) as offered,
        any_value(w.reason) filter (where w.period = la.last_period) as reason,
        any_value(w.model_code) filter (where w.period = la.last_period) as model_code,
        cast(count(*) filter (where w.eligible) as integer) as months,
        min(w.period) filter (where w.eligible) as first_period,
        max(w.period) filter (where w.eligible) as last_period,
        sum(w.kwh) filter (where w.eligible) as kwh,
        sum(w.total_yuan) filter (where w.eligible) as total_yuan,
        sum(w.actual_total_yuan) filter (where w.eligible) as actual_total_yuan,
        sum(w.saving_yuan) filter (where w.eligible) as saving_yuan,
        sum(w.deviation_yuan) filter (where w.eligible) as deviation_yuan,
        sum(w.deviation_change_yuan) filter (where w.eligible) as deviation_change_yuan
    from whatif w
    join latest la using (customer_id)
    group by all
),

per_month as (
    select *,
           case when months > 0 then {{ money('total_yuan / months') }} end as yuan_per_month,
           case when months > 0 then {{ money('saving_yuan / months') }} end
               as saving_per_month_yuan
    from summed
)

select
    customer_id,
    package_id,
    model_code,
    current_package_id,
    coalesce(is_current, false) as is_current,
    coalesce(offered, false) as offered,
    reason,
    months,
    first_period,
    last_period,
    cast(kwh as decimal(18, 3)) as kwh,
    cast(total_yuan as decimal(18, 2)) as total_yuan,
    yuan_per_month,
    cast(actual_total_yuan as decimal(18, 2)) as actual_total_yuan,
    cast(saving_yuan as decimal(18, 2)) as saving_yuan,
    saving_per_month_yuan,
    cast(deviation_yuan as decimal(18, 2)) as deviation_yuan,
    cast(deviation_change_yuan as decimal(18, 2)) as deviation_change_yuan,
    case when offered then cast(row_number() over (
        partition by customer_id, offered
        order by saving_per_month_yuan desc, saving_yuan desc, package_id) as integer) end
        as rank
from per_month
