{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    tags=['monthly'],
    pre_hook=["{% if is_incremental() %}alter table {{ this }} add column if not exists determinants_on_estimate varchar;"
              " alter table {{ this }} add column if not exists bill_status varchar{% endif %}",
              "{% if is_incremental() %}delete from {{ this }} where period_start >= {{ window_start() }} and period_start < {{ window_end() }} and period not in (select period from {{ ref('period_close') }}){% endif %}"],
) }}
-- depends_on: {{ ref('period_close') }}
-- One bill per customer and month: the total is the sum of its lines, by construction. Locked
-- months (see bill_lines) are never rewritten. Each bill records the settlement run and the
-- version (valid_from) of every config table that priced it, and the read data version.
-- determinants_on_estimate names the billing determinants resting on VEE estimates
-- ('max_demand;block:peak'; core.int_customer_month) and bill_status is 'held' while
-- finance.bill_holds holds the bill (policy estimated_determinant_policy = hold: no bill
-- document, no bill_ready notice; the lines stay in finance.bill_lines), else 'issued'.

with locked as (
    {% if is_incremental() %}
    select c.period from {{ ref('period_close') }} c
    where c.period in (select distinct period from {{ this }})
    {% else %}
    select cast(null as varchar) as period where false
    {% endif %}
),

lines as (
    select customer_id, period, period_start, run_id,
           sum(amount_yuan) as total_yuan, count(*) as line_count
    from {{ ref('bill_lines') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and period not in (select period from locked)
    group by all
),

cm as (
    select * from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

holds as (
    select distinct customer_id, period from {{ ref('bill_holds') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and status = 'held'
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
    l.line_count,
    l.run_id,
    cm.data_version,
    cm.tariff_valid_from,
    cm.package_valid_from,
    cm.pf_table_valid_from,
    cm.tou_valid_from,
    cm.parameters_valid_from,
    cm.determinants_on_estimate,
    case when h.customer_id is not null then 'held' else 'issued' end as bill_status
from lines l
join cm using (customer_id, period)
left join holds h using (customer_id, period)
