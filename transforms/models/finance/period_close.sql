{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    schema='finance', tags=['monthly'],
) }}
-- finance.period_close: the months finance has closed. Append-only: a closed month is never
-- reopened by dbt (no delete, no --full-refresh). Finance closes a month after its bills were
-- issued and checked, either by a reviewed row in seeds/config/period_closings.csv (loaded by
-- the reference job, copied here by the next monthly run) or directly:
--   insert into finance.period_close values ('2026-07', date '2026-08-10', 'finance', 'WD8 final', now());
-- A month is locked when it is here AND has issued lines in finance.bill_lines (closing an
-- unbilled month locks it as soon as its first bills are issued). Locked bills never change;
-- later differences become finance.adjustments.
-- (Lives in models/intermediate so the settlement asset group builds it before the bills.)

with requested as (
    select
        cast(period as varchar) as period,
        cast(closed_on as date) as closed_on,
        cast(closed_by as varchar) as closed_by,
        cast(note as varchar) as note
    from {{ ref('period_closings') }}
    where period is not null
)

select period, closed_on, closed_by, note, cast(current_timestamp as timestamp) as recorded_at
from requested
{% if is_incremental() %}
where period not in (select period from {{ this }})
{% endif %}
qualify row_number() over (partition by period order by closed_on) = 1
