{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    tags=['monthly'],
    pre_hook=["{% if is_incremental() %}alter table {{ this }} add column if not exists segment_no integer default 1{% endif %}",
              "{% if is_incremental() %}delete from {{ this }} where period_start >= {{ window_start() }} and period_start < {{ window_end() }} and period not in (select period from {{ ref('period_close') }}){% endif %}"],
) }}
-- depends_on: {{ ref('period_close') }}
-- Bill line items per customer and month (finance contract; see _finance.yml): the lines as
-- first issued. An open month is replaced by each run of its window; a locked month (in
-- finance.period_close with issued lines) is never deleted, re-inserted or updated, so its rows
-- stay byte-identical — later differences are finance.adjustments. full_refresh=false: even
-- `dbt build --full-refresh` cannot rebuild (and so lose) issued bills.
-- segment_no (issue 9): the segment of the customer-month the line prices (1 when the customer
-- master version did not change inside the month; core.int_customer_month_segments). Key:
-- customer_id, period, segment_no, line_code. Migration: the pre-hook adds the column to an
-- existing table with the value 1 for every existing row (those months had one segment);
-- no other column of a locked month changes.

with lines as (
    select * from {{ ref('fct_settlement_lines') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

runs as (
    select period, run_id from {{ ref('int_settlement_run') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
)

select
    l.customer_id,
    l.period,
    l.period_start,
    l.segment_no,
    l.line_no,
    l.line_code,
    l.quantity,
    l.unit,
    l.unit_price,
    l.amount_yuan,
    r.run_id
from lines l
join runs r using (period)
{% if is_incremental() %}
where l.period not in (
    select c.period from {{ ref('period_close') }} c
    where c.period in (select distinct period from {{ this }})
)
{% endif %}
