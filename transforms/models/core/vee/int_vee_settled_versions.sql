{#- table core.vee_settled_versions (alias: the table name and asset key predate the int_ prefix) -#}
{{ config(
    materialized='incremental',
    alias='vee_settled_versions',
    incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}",
    tags=['monthly'],
) }}
-- What settlement used: for every customer and month billed in the window, the newest validated
-- version (ledger file id) and the kWh the bill was built from, recorded after finance.bills is
-- built (re-settling the month replaces the row). core.resettlement_requests compares the
-- current validated consumption with this snapshot.

with billed as (
    select customer_id, period, period_start
    from {{ ref('bills') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

validated as (
    select customer_id, cast(date_trunc('month', reading_date) as date) as period_start,
           channel, value, version, quality_flag
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and customer_id is not null
)

select
    b.customer_id,
    b.period,
    b.period_start,
    max(v.version) as settled_max_version,
    cast(coalesce(sum(v.value) filter (where v.channel = 'kwh_imp'), 0) as decimal(18, 3)) as settled_kwh,
    cast(coalesce(sum(v.value) filter (where v.channel = 'kvarh_imp'), 0) as decimal(18, 3))
        as settled_kvarh,
    count(*) as settled_intervals,
    count(*) filter (where v.quality_flag = 'ESTIMATED') as settled_estimated_intervals,
    count(*) filter (where v.quality_flag = 'EDITED') as settled_edited_intervals,
    current_timestamp as recorded_at
from billed b
join validated v on v.customer_id = b.customer_id and v.period_start = b.period_start
group by b.customer_id, b.period, b.period_start
