{#- view core.resettlement_requests (alias: the table name and asset key predate the fct_ prefix) -#}
{{ config(materialized='view', alias='resettlement_requests', tags=['monthly']) }}
-- Months to re-settle: a customer-month whose validated consumption now contains versions newer
-- than the newest version it was settled with (core.vee_settled_versions) — a late or corrected
-- landing file for a past day, or a manual edit. A view, so it is always current: a daily run that
-- re-validates a past day shows up here at once; re-settling the month (monthly job) clears it.
-- Read by settlement: one row per (customer_id, period).

with settled as (
    select * from {{ ref('int_vee_settled_versions') }}
),

newer as (
    select
        s.customer_id, s.period, s.period_start, s.settled_max_version, s.settled_kwh,
        s.recorded_at, v.version, v.quality_flag, v.channel
    from {{ ref('int_interval_validated') }} v
    join settled s
        on s.customer_id = v.customer_id
       and v.reading_date >= s.period_start
       and v.reading_date < s.period_start + interval 1 month
    where v.version > s.settled_max_version
),

requests as (
    select
        customer_id, period, period_start, settled_max_version, settled_kwh, recorded_at,
        min(version) as first_seen_version,
        max(version) as latest_version,
        count(*) as changed_intervals,
        nullif(concat_ws(';',
            case when bool_or(quality_flag <> 'EDITED') then 'late_or_corrected_reads' end,
            case when bool_or(quality_flag = 'EDITED') then 'manual_edit' end
        ), '') as reason
    from newer
    group by all
),

current_kwh as (
    select r.customer_id, r.period,
           cast(sum(v.value) filter (where v.channel = 'kwh_imp') as decimal(18, 3)) as kwh
    from {{ ref('int_interval_validated') }} v
    join requests r
        on r.customer_id = v.customer_id
       and v.reading_date >= r.period_start
       and v.reading_date < r.period_start + interval 1 month
    group by all
)

select
    r.period,
    r.customer_id,
    r.reason,
    r.first_seen_version,
    l.file_name as first_seen_file,
    l.ingested_at as first_seen_at,
    r.latest_version,
    r.period_start,
    r.settled_max_version,
    r.recorded_at as settled_at,
    r.changed_intervals,
    r.settled_kwh,
    c.kwh as current_kwh,
    cast(c.kwh - r.settled_kwh as decimal(18, 3)) as kwh_change
from requests r
left join current_kwh c using (customer_id, period)
left join {{ source('raw', 'file_ledger') }} l on l.file_id = r.first_seen_version
