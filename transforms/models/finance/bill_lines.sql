{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Bill line items per customer and month (finance contract; see _finance.yml).

select
    customer_id,
    period,
    period_start,
    line_no,
    line_code,
    quantity,
    unit,
    unit_price,
    amount_yuan
from {{ ref('fct_settlement_lines') }}
where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
