{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    tags=['monthly'],
    pre_hook="{% if is_incremental() %}alter table {{ this }} add column if not exists segment_no integer default 1{% endif %}",
) }}
-- Re-settlement (追退补) of locked months. For every customer, month and line code of a locked
-- month in the window: delta = current computation (core.fct_settlement_lines)
--                              − issued line (finance.bill_lines) − earlier adjustments.
-- A non-zero delta is appended as one adjustment row of this settlement run; the issued bill is
-- never edited. Append-only (no delete, no full refresh): issued bill + Σ adjustments = the
-- current computation, line by line, and re-running an unchanged month adds nothing.
-- reason: what changed (validated kWh, with the data version, or only prices/config), prefixed
-- with core.resettlement_requests.reason (late_or_corrected_reads / manual_edit) when that view
-- exists and still lists the customer-month when this model runs. It is looked up at run time,
-- not ref()'d: the view is cleared by core.vee_settled_versions in the same run, so it must be
-- read before that model is rebuilt (vee_settled_versions should depend on adjustments).
-- Lines are keyed by customer, month, segment_no and line code (issue 9: a month re-priced in
-- segments); adjustment_id keeps its form run:customer:line_code for segment 1 and appends
-- :segment_no for later segments. Migration: the pre-hook adds segment_no (existing rows 1).

{%- set adjustment_id -%}
r.run_id || ':' || d.customer_id || ':' || d.line_code
    || case when d.segment_no = 1 then '' else ':' || d.segment_no end
{%- endset -%}
{%- set requests = none -%}
{%- if execute -%}
    {%- set requests = adapter.get_relation(database=this.database, schema='core',
                                            identifier='resettlement_requests') -%}
{%- endif %}

with locked as (
    select c.period
    from {{ ref('period_close') }} c
    where c.period in (select distinct period from {{ ref('bill_lines') }})
      and cast(c.period || '-01' as date) >= {{ window_start() }}
      and cast(c.period || '-01' as date) < {{ window_end() }}
),

runs as (
    select period, run_id, data_version from {{ ref('int_settlement_run') }}
    where period in (select period from locked)
),

current_lines as (
    select customer_id, period, segment_no, line_no, line_code, quantity, unit, unit_price,
           amount_yuan
    from {{ ref('fct_settlement_lines') }}
    where period in (select period from locked)
),

issued as (
    select customer_id, period, segment_no, line_no, line_code, quantity, unit, amount_yuan,
           run_id
    from {{ ref('bill_lines') }}
    where period in (select period from locked)
),

bill_refs as (
    select distinct customer_id, period, customer_id || ':' || period || ':' || run_id as original_bill_ref
    from issued
),

earlier as (
    {% if is_incremental() %}
    select customer_id, period, segment_no, line_code,
           sum(quantity_delta) as quantity, sum(amount_delta_yuan) as amount_yuan
    from {{ this }}
    where period in (select period from locked)
    group by all
    {% else %}
    select cast(null as varchar) as customer_id, cast(null as varchar) as period,
           cast(null as integer) as segment_no, cast(null as varchar) as line_code, cast(0 as decimal(18, 3)) as quantity,
           cast(0 as decimal(18, 2)) as amount_yuan
    where false
    {% endif %}
),

keyed as (
    select customer_id, period, segment_no, line_code from current_lines
    union select customer_id, period, segment_no, line_code from issued
    union select customer_id, period, segment_no, line_code from earlier
),

deltas as (
    select
        k.customer_id, k.period, k.segment_no, k.line_code,
        coalesce(c.line_no, i.line_no) as line_no,
        coalesce(c.unit, i.unit) as unit,
        c.unit_price,
        coalesce(c.quantity, 0) - coalesce(i.quantity, 0) - coalesce(e.quantity, 0) as quantity_delta,
        coalesce(c.amount_yuan, 0) - coalesce(i.amount_yuan, 0) - coalesce(e.amount_yuan, 0)
            as amount_delta_yuan
    from keyed k
    left join current_lines c using (customer_id, period, segment_no, line_code)
    left join issued i using (customer_id, period, segment_no, line_code)
    left join earlier e using (customer_id, period, segment_no, line_code)
),

-- did the customer's validated kWh change? (every segment of a customer-month has one
-- td_energy line; kWh moved between segments by a re-segmentation is no change)
kwh_changed as (
    select customer_id, period, sum(quantity_delta) <> 0 as changed
    from deltas where line_code = 'td_energy' group by all
)

select
    {{ adjustment_id }} as adjustment_id,
    d.customer_id,
    d.period,
    cast(d.period || '-01' as date) as period_start,
    b.original_bill_ref,
    d.segment_no,
    d.line_no,
    d.line_code,
    d.unit,
    cast(d.unit_price as decimal(18, 8)) as unit_price,
    cast(d.quantity_delta as decimal(18, 3)) as quantity_delta,
    cast(d.amount_delta_yuan as decimal(18, 2)) as amount_delta_yuan,
    {% if requests is not none -%} concat_ws(': ', q.reason, {%- endif %}
    case
        when b.original_bill_ref is null then 'no bill issued before the month was closed'
        when coalesce(kc.changed, false) then 'validated consumption changed (late or corrected reads, data version ' || r.data_version || ')'
        else 'recomputed charges changed (prices or settlement rules)'
    end
    {%- if requests is not none %}) {%- endif %} as reason,
    r.run_id,
    cast(current_timestamp as timestamp) as created_at
from deltas d
join runs r using (period)
left join bill_refs b using (customer_id, period)
left join kwh_changed kc using (customer_id, period)
{% if requests is not none -%}
left join (
    select period, customer_id, string_agg(distinct reason, '; ' order by reason) as reason
    from {{ requests }} group by all
) q using (customer_id, period)
{%- endif %}
where d.quantity_delta <> 0 or d.amount_delta_yuan <> 0
{% if is_incremental() %}
  and {{ adjustment_id }} not in (select adjustment_id from {{ this }})
{% endif %}
