{#- Built by analytics_job (tag analytics): it reads the complaint tickets analytics_job loads.
    SQLMesh (the money preview) leaves it out, as it does the other analytics_job models. -#}
{{ config(tags=['analytics'], enabled=not var('gridledger_sqlmesh', false)) }}

-- Retailer recommendation per customer (issue 11; domain.md §9 after CN118212027A [S1]): every
-- retailer that publishes a package the customer may take (seeds retailer_packages ×
-- package_eligibility, through analytics.package_whatif_summary's `offered`), ranked by a
-- recommendation value from four indicators over the 12 months to the what-if's latest month:
--   saving_per_month_yuan    the best saving per month among the retailer's offered packages
--                            (the re-rating of analytics.package_whatif_summary; higher better)
--   deviation_ratio_abs      Σ|deviation kWh| / Σ wholesale kWh of the retailer's portfolio
--                            (core.fct_portfolio_deviation; lower better), 6 dp
--   complaints_per_100_bills complaint tickets of customers under contract with the retailer in
--                            the ticket's month per 100 of its bills (lower better), 4 dp
--   on_time_share            share of the retailer's bills issued in their month rather than
--                            held (finance.bills.bill_status; higher better), 4 dp
-- Each indicator is scaled 0-1 across the customer's candidate retailers (best 1, worst 0; 1 when
-- they are equal); value = 100 × Σ weight × scaled / Σ weight over the indicators the retailer
-- has (seed retailer_recommendation_weights in force on the latest month), 2 dp half away from
-- zero. rank 1 = the highest value; ties by the larger saving, then retailer_id.
-- Before the monthly job has built the re-rating (analytics_job on a new warehouse) the table is
-- empty: the monthly inputs are read through relation_or_empty (macros/relations.sql).

with summary as (
    select * from {{ relation_or_empty(ref('package_whatif_summary'), {
        'customer_id': 'varchar', 'package_id': 'varchar', 'offered': 'boolean',
        'saving_per_month_yuan': 'decimal(18, 2)', 'last_period': 'varchar'}) }}
),

anchor as (
    select cast(max(last_period) || '-01' as date) as month_start from summary
),

bounds as (
    select month_start as last_month_start,
           cast(month_start - interval 11 month as date) as first_month_start,
           cast(month_start + interval 1 month as date) as window_end
    from anchor
),

offers as (
    select rp.retailer_id, rp.package_id
    from {{ ref('retailer_packages') }} rp, bounds b
    where rp.valid_from <= b.last_month_start
      and (rp.valid_to is null or rp.valid_to >= b.last_month_start)
),

retailers as (
    select r.retailer_id, r.retailer_name
    from {{ source('restricted', 'retailers') }} r, bounds b
    where r.valid_from <= b.last_month_start
      and (r.valid_to is null or r.valid_to >= b.last_month_start)
),

best_package as (
    select s.customer_id, o.retailer_id,
           max(s.saving_per_month_yuan) as saving_per_month_yuan,
           count(*) as packages_offered
    from summary s
    join offers o using (package_id)
    where s.offered and s.saving_per_month_yuan is not null
    group by all
),

best as (
    select bp.customer_id, bp.retailer_id, bp.saving_per_month_yuan, bp.packages_offered,
           min(s.package_id) as best_package_id
    from best_package bp
    join summary s
        on s.customer_id = bp.customer_id and s.offered
       and s.saving_per_month_yuan = bp.saving_per_month_yuan
    join offers o on o.retailer_id = bp.retailer_id and o.package_id = s.package_id
    group by all
),

deviation as (
    select d.retailer_id,
           cast(round(sum(abs(d.deviation_kwh)) / nullif(sum(d.wholesale_kwh), 0), 6)
                as decimal(18, 6)) as deviation_ratio_abs
    from {{ relation_or_empty(ref('fct_portfolio_deviation'), {
        'retailer_id': 'varchar', 'period_start': 'date', 'deviation_kwh': 'decimal(18, 3)',
        'wholesale_kwh': 'decimal(18, 3)'}) }} d, bounds b
    where d.period_start between b.first_month_start and b.last_month_start
    group by all
),

bills as (
    select f.retailer_id, count(*) as bills,
           count(*) filter (where f.bill_status = 'issued') as bills_issued
    from {{ relation_or_empty(ref('bills'), {
        'retailer_id': 'varchar', 'period_start': 'date', 'bill_status': 'varchar'}) }} f,
         bounds b
    where f.period_start between b.first_month_start and b.last_month_start
    group by all
),

complaints as (
    select k.retailer_id, count(*) as complaints
    from {{ source('analytics', 'service_tickets') }} t
    join {{ ref('stg_contracts') }} k
        on k.customer_id = t.customer_id
       and t.opened_on between k.start_date and k.end_date
    , bounds b
    where t.category = 'complaint'
      and t.opened_on >= b.first_month_start and t.opened_on < b.window_end
    group by all
),

performance as (
    select r.retailer_id, r.retailer_name, dv.deviation_ratio_abs,
           coalesce(bl.bills, 0) as bills_12m,
           coalesce(c.complaints, 0) as complaints_12m,
           case when bl.bills > 0 then cast(round(100 * coalesce(c.complaints, 0) / bl.bills, 4)
                                            as decimal(18, 4)) end as complaints_per_100_bills,
           case when bl.bills > 0 then cast(round(bl.bills_issued / bl.bills, 4)
                                            as decimal(9, 4)) end as on_time_share
    from retailers r
    left join deviation dv using (retailer_id)
    left join bills bl using (retailer_id)
    left join complaints c using (retailer_id)
),

weights as (
    select w.indicator, w.weight, w.better
    from {{ ref('retailer_recommendation_weights') }} w, bounds b
    where w.valid_from <= b.last_month_start
      and (w.valid_to is null or w.valid_to >= b.last_month_start)
),

candidates as (
    select b.customer_id, b.retailer_id, p.retailer_name, b.best_package_id,
           b.packages_offered, b.saving_per_month_yuan, p.deviation_ratio_abs, p.bills_12m,
           p.complaints_12m, p.complaints_per_100_bills, p.on_time_share
    from best b
    join performance p using (retailer_id)
),

long as (
    unpivot candidates
    on saving_per_month_yuan::double, deviation_ratio_abs::double,
       complaints_per_100_bills::double, on_time_share::double
    into name indicator value x
),

scaled as (
    select l.customer_id, l.retailer_id, l.indicator, w.weight,
           case when max(l.x) over c = min(l.x) over c then 1.0
                when w.better = 'higher'
                    then (l.x - min(l.x) over c) / (max(l.x) over c - min(l.x) over c)
                else (max(l.x) over c - l.x) / (max(l.x) over c - min(l.x) over c)
           end as z
    from long l
    join weights w using (indicator)
    where l.x is not null
    window c as (partition by l.customer_id, l.indicator)
),

valued as (
    select customer_id, retailer_id,
           cast(round(100 * sum(weight * z) / sum(weight), 2) as decimal(9, 2))
               as recommendation_value,
           string_agg(indicator, ', ' order by indicator) as indicators_used
    from scaled
    group by all
),

current_retailer as (
    select customer_id, retailer_id as current_retailer_id
    from {{ ref('stg_customers') }}
    where valid_to is null
)

select
    c.customer_id,
    c.retailer_id,
    c.retailer_name,
    cr.current_retailer_id,
    coalesce(c.retailer_id = cr.current_retailer_id, false) as is_current,
    c.best_package_id,
    cast(c.packages_offered as integer) as packages_offered,
    c.saving_per_month_yuan,
    c.deviation_ratio_abs,
    cast(c.bills_12m as integer) as bills_12m,
    cast(c.complaints_12m as integer) as complaints_12m,
    c.complaints_per_100_bills,
    c.on_time_share,
    v.recommendation_value,
    v.indicators_used,
    cast(row_number() over (
        partition by c.customer_id
        order by v.recommendation_value desc, c.saving_per_month_yuan desc, c.retailer_id)
        as integer) as rank
from candidates c
join valued v using (customer_id, retailer_id)
left join current_retailer cr using (customer_id)
