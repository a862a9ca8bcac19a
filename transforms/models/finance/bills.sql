{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- One bill per customer and month: the total is the sum of its lines, by construction.

with lines as (
    select customer_id, period, period_start, sum(amount_yuan) as total_yuan, count(*) as line_count
    from {{ ref('bill_lines') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

cm as (
    select * from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
)

select
    l.customer_id,
    l.period,
    l.period_start,
    cm.retailer_id,
    cm.contract_id,
    cm.package_id,
    cm.model_code as package_model,
    cm.kwh as billed_kwh,
    cm.kvarh as billed_kvarh,
    cm.max_demand_kw,
    cast(cm.pf_hundredths / 100.0 as decimal(4, 2)) as power_factor,
    cast(l.total_yuan as decimal(18, 2)) as total_yuan,
    cast(round(l.total_yuan / nullif(cm.kwh, 0), 4) as decimal(18, 4)) as average_price_yuan_per_kwh,
    cast(round(cm.estimated_kwh / nullif(cm.kwh, 0), 4) as decimal(9, 4)) as estimated_kwh_share,
    l.line_count
from lines l
join cm using (customer_id, period)
