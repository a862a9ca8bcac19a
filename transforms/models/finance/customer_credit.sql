{#- Built by analytics_job (tag analytics) straight into `finance`, outside the monthly
    publish (orchestration/dbt.py finance_tables() leaves analytics models out): its source is
    written by analytics_job's Python asset analytics/credit_rating. SQLMesh (the money preview)
    leaves it out, as it does the analytics mart. -#}
{{ config(tags=['analytics'], enabled=not var('gridledger_sqlmesh', false)) }}

-- Credit rating per customer and month for finance (issue 11; seed 001 用户信用评估: 良好 /
-- 一般 / 较差): analytics.credit_rating (payment timeliness, arrears, deviation penalties and
-- complaints over the 12 months to the month end, points per indicator, score 0-100, grade)
-- with the customer's retailer. Ids only: no name, no contact. A customer without a bill due in
-- those 12 months has no score and no grade; its caveat says why.
with credit as (
    select * from {{ source('analytics', 'credit_rating') }}
),

customers as (
    select customer_id, retailer_id from {{ ref('stg_customers') }} where valid_to is null
)

select
    cast(c.month as varchar) as month,
    cast(c.month || '-01' as date) as month_start,
    cast(c.customer_id as varchar) as customer_id,
    cast(k.retailer_id as varchar) as retailer_id,
    cast(c.payment_months as integer) as payment_months,
    cast(c.on_time_share as decimal(9, 4)) as on_time_share,
    cast(c.avg_days_late as decimal(9, 1)) as avg_days_late,
    cast(c.arrears_yuan as decimal(18, 2)) as arrears_yuan,
    cast(c.arrears_months as decimal(9, 2)) as arrears_months,
    cast(c.penalties_12m_yuan as decimal(18, 2)) as penalties_12m_yuan,
    cast(c.complaints_12m as integer) as complaints_12m,
    cast(c.credit_score as decimal(9, 2)) as credit_score,
    cast(c.credit_grade as varchar) as credit_grade,
    cast(c.credit_grade_zh as varchar) as credit_grade_zh,
    cast(c.caveat as varchar) as caveat
from credit c
left join customers k on k.customer_id = c.customer_id
