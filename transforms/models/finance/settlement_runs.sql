{{ config(
    materialized='incremental', incremental_strategy='append', full_refresh=false,
    tags=['monthly'],
) }}
-- One row per distinct settlement run of a month: its inputs (data version = newest ledger
-- file id behind the month's validated reads; valid_from of the tariff, package, PF table, TOU
-- calendar, parameter and deviation-clause rows used) and its result (customers, kWh, total).
-- A run is identified by its inputs and results (core.int_settlement_run), so re-running an
-- unchanged month records nothing new; run_at is when the run was first computed.
-- run_type: initial (first run of the month), rebill (open month recomputed with a different
-- result: its bills were replaced), resettlement (locked month: differences went to
-- finance.adjustments, bills untouched).

with runs as (
    select * from {{ ref('int_settlement_run') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

locked as (
    select c.period from {{ ref('period_close') }} c
    where c.period in (select distinct period from {{ ref('bill_lines') }} where run_id not in (select run_id from runs))
),

{% if is_incremental() %}
seen as (select period, count(*) as earlier_runs from {{ this }} group by all)
{% else %}
seen as (select cast(null as varchar) as period, 0 as earlier_runs where false)
{% endif %}

select
    r.run_id,
    r.period,
    r.period_start,
    case
        when r.period in (select period from locked) then 'resettlement'
        when coalesce(s.earlier_runs, 0) = 0 then 'initial'
        else 'rebill'
    end as run_type,
    r.data_version,
    r.tariff_versions,
    r.package_versions,
    r.pf_table_versions,
    r.tou_calendar_version,
    r.parameters_version,
    r.deviation_clause_versions,
    r.customers,
    r.settled_kwh,
    r.line_count,
    r.total_yuan,
    r.lines_fingerprint,
    cast(current_timestamp as timestamp) as run_at
from runs r
left join seen s using (period)
{% if is_incremental() %}
where r.run_id not in (select run_id from {{ this }})
{% endif %}
