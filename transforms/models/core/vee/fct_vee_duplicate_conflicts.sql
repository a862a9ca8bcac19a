{#- table core.vee_duplicate_conflicts (alias: the table name and asset key predate the fct_ prefix) -#}
{{ config(
    materialized='incremental',
    alias='vee_duplicate_conflicts',
    incremental_strategy='append',
    pre_hook="{{ delete_window('reading_date') }}",
    tags=['daily'],
) }}
-- The conflict log (domain.md §8 duplicates): every interval read with differing values, one row
-- per landed version (file and row), the winner marked. Latest version wins: the highest ledger
-- file id, then the highest row. Reads only the conflicting keys VEE found in the window.

with conflicts as (
    select meter_id, channel, interval_start, value as validated_value, quality_flag
    from {{ ref('int_interval_validated') }}
    where reading_date >= {{ window_start() }} and reading_date < {{ window_end() }}
      and has_conflict
),

versions as (
    select
        r.meter_id, r.channel, r.interval_start, r.file_id, r.source_row, r.value, r.multiplier,
        c.validated_value, c.quality_flag
    from {{ source('raw', 'interval_reads') }} r
    join conflicts c using (meter_id, channel, interval_start)
    where r.interval_start >= {{ window_start() }} and r.interval_start < {{ window_end() }}
)

select
    v.meter_id,
    v.channel,
    v.interval_start,
    cast(v.interval_start as date) as reading_date,
    v.file_id as version,
    l.file_name,
    v.source_row,
    l.ingested_at,
    v.value,
    v.multiplier,
    row_number() over k as version_rank,
    count(*) over (partition by v.meter_id, v.channel, v.interval_start) as n_versions,
    count(distinct v.value) over (partition by v.meter_id, v.channel, v.interval_start)
        as n_distinct_values,
    row_number() over k = 1 as is_winner,
    v.validated_value,
    v.quality_flag
from versions v
join {{ source('raw', 'file_ledger') }} l using (file_id)
window k as (
    partition by v.meter_id, v.channel, v.interval_start
    order by v.file_id desc, v.source_row desc
)
