{#- SQLMesh (the money preview; transforms/config.py sets the dbt var gridledger_sqlmesh)
    leaves this model out: its sources exist only once analytics_job ran, and it holds no
    money. -#}
{{ config(enabled=not var('gridledger_sqlmesh', false)) }}

-- Customer analytics for BI (issue 11): per customer scored at the analytics month, its churn
-- risk band, value grade, credit grade and measure (analytics.customer_measures, written by the
-- Python assets of analytics_job), with ids and masked names only. Built by analytics_job
-- (tag analytics), never by the reference, daily or monthly jobs: the analytics tables exist
-- only after analytics_job ran, and the BI snapshot copies this table once it exists.
with measures as (
    select * from {{ source('analytics', 'customer_measures') }}
),

risk as (
    select month, customer_id, caveat from {{ source('analytics', 'churn_risk') }}
),

credit as (
    select month, customer_id, credit_grade_zh, caveat
    from {{ source('analytics', 'credit_rating') }}
),

notify as (
    select risk_band, value_grade, notify_account_manager, valid_from, valid_to
    from {{ ref('customer_measures') }}
),

customers as (
    select customer_id, retailer_id, customer_name, customer_class, region, industry
    from {{ ref('stg_customers') }}
    where valid_to is null
)

select
    m.month,
    m.customer_id,
    c.retailer_id,
    -- master.customers carries residents' names masked already; mask again so this table
    -- never shows one whatever the source holds (companies keep their registered name)
    case when c.customer_class = 'residential' then {{ mask_name('c.customer_name') }}
         else c.customer_name end as customer_name_masked,
    c.customer_class,
    c.region,
    c.industry,
    m.churn_probability_90d,
    m.risk_band,
    r.caveat as churn_caveat,
    m.value_score,
    m.value_grade,
    m.credit_score,
    m.credit_grade,
    cr.credit_grade_zh,
    cr.caveat as credit_caveat,
    m.measure_code,
    m.measure,
    m.reason as measure_reason,
    coalesce(n.notify_account_manager, false) as notify_account_manager
from measures m
left join customers c on c.customer_id = m.customer_id
left join risk r on r.month = m.month and r.customer_id = m.customer_id
left join credit cr on cr.month = m.month and cr.customer_id = m.customer_id
left join notify n
    on n.risk_band = m.risk_band and n.value_grade = m.value_grade
   and cast(m.month || '-01' as date) >= n.valid_from
   and (n.valid_to is null or cast(m.month || '-01' as date) <= n.valid_to)
