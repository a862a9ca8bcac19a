{{ config(tags=['monthly']) }}
-- Which retail packages each customer could take in each month of the what-if window
-- (issue 11, package recommendation by re-rating, domain.md §9 after CN118212027A [S1]).
-- The window: the last 12 months up to the latest billable month before the run's window end
-- (var max_date; every month with the default vars); the customer-months in it that have bills
-- (core.int_customer_month with no unbilled_reason). One row per such customer-month and every
-- package_id of retail_packages, eligible or not, with the reason when not:
--   - the customer's own package (the contract's) is always priced: it is the baseline;
--   - `expired on <valid_to>`: no version of the package is in force on the month's first day
--     and the last one ended before it (an expired package is never offered);
--     `not yet offered (from <valid_from>)`: the first version starts after the month;
--   - `not offered to <class> / <voltage> / <tariff type>`: no package_eligibility row in force
--     on the month's first day matches the customer ('*' matches any value);
--   - `no_package_price`: the package has no price that month (core.int_package_block_prices:
--     e.g. the market index row a LINKED or SPREAD package floats from is missing).
-- Package versions as for bills: the version in force on the first day of the month.

with anchor as (
    select max(period_start) as last_month
    from {{ ref('int_customer_month') }}
    where unbilled_reason is null and period_start < {{ window_end() }}
),

months as (
    select m.customer_id, m.period, m.period_start, m.package_id as current_package_id,
           m.customer_class, m.voltage_level, m.tariff_type
    from {{ ref('int_customer_month') }} m, anchor a
    where m.unbilled_reason is null
      and m.period_start <= a.last_month and m.period_start > a.last_month - interval 12 month
),

package_ids as (
    select package_id, min(valid_from) as first_valid_from, max(valid_to) as last_valid_to,
           bool_or(valid_to is null) as open_ended
    from {{ ref('retail_packages') }}
    group by all
),

in_force as (
    select package_id, model_code, valid_from, coalesce(valid_to, date '9999-12-31') as valid_to
    from {{ ref('retail_packages') }}
),

eligibility as (
    select * from {{ ref('package_eligibility') }}
),

candidates as (
    select
        mo.customer_id, mo.period, mo.period_start, p.package_id, mo.current_package_id,
        mo.customer_class, mo.voltage_level, mo.tariff_type,
        p.first_valid_from, p.last_valid_to, p.open_ended,
        v.model_code, v.valid_from as package_valid_from,
        p.package_id = mo.current_package_id as is_current,
        exists (
            select 1 from eligibility e
            where e.package_id = p.package_id
              and e.customer_class in (mo.customer_class, '*')
              and e.voltage_level in (mo.voltage_level, '*')
              and e.tariff_type in (mo.tariff_type, '*')
              and mo.period_start >= e.valid_from
              and (e.valid_to is null or mo.period_start <= e.valid_to)
        ) as offered,
        exists (
            select 1 from {{ ref('int_package_block_prices') }} bp
            where bp.package_id = p.package_id and bp.period = mo.period and bp.block = 'flat'
        ) as priced
    from months mo
    cross join package_ids p
    left join in_force v
        on v.package_id = p.package_id and mo.period_start between v.valid_from and v.valid_to
)

select
    customer_id,
    period,
    period_start,
    package_id,
    model_code,
    package_valid_from,
    current_package_id,
    is_current,
    is_current or (package_valid_from is not null and offered and priced) as eligible,
    case
        when is_current then null
        when package_valid_from is null and period_start < first_valid_from
            then 'not yet offered (from ' || strftime(first_valid_from, '%Y-%m-%d') || ')'
        when package_valid_from is null and not open_ended and period_start > last_valid_to
            then 'expired on ' || strftime(last_valid_to, '%Y-%m-%d')
        when package_valid_from is null
            then 'no version in force on ' || strftime(period_start, '%Y-%m-%d')
        when not offered
            then 'not offered to ' || coalesce(customer_class, '?') || ' / '
                 || coalesce(voltage_level, '?') || ' / ' || coalesce(tariff_type, '?')
                 || ' (package_eligibility)'
        when not priced then 'no_package_price'
    end as reason
from candidates
