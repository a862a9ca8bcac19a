{{ config(tags=["daily"]) }}
-- Interval reads with the landing file they came from; one row per landed row (versions kept).
with reads as (
    select * from {{ source('raw', 'interval_reads') }}
),

ledger as (
    select file_id, file_name from {{ source('raw', 'file_ledger') }}
)

select
    r.meter_id,
    r.channel,
    r.interval_start,
    cast(r.interval_start as date) as reading_date,
    r.interval_minutes,
    r.value,
    r.unit,
    r.multiplier,
    r.file_id,
    l.file_name,
    r.source_row
from reads r
join ledger l using (file_id)
