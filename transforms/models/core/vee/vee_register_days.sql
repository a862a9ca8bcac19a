{%- set as_of = var('as_of', none) -%}
{{ config(
    materialized=('table' if as_of is not none else 'incremental'),
    alias=('vee_register_days_as_of' if as_of is not none else 'vee_register_days'),
    incremental_strategy='append',
    pre_hook="{{ delete_window('reading_date') }}",
    tags=['daily'],
) }}
-- Register (dial) deltas between consecutive reads of a meter and channel: rollover vs meter
-- change / reset (domain.md §8), and the primary energy the sum check compares intervals with.
-- One row per read that has a previous read within like_day_window_days; reading_date is the day
-- the read closes (a 00:00 read closes the day before). With the dbt var `as_of` set, only ledger
-- files ingested by the end of that day count and the rows go to vee_register_days_as_of.

with params as (
    select
        {{ window_start() }} as ws,
        {{ window_end() }} as we,
        max(value) filter (where parameter = 'like_day_window_days')::int as lookback,
        max(value) filter (where parameter = 'rollover_threshold') as rollover_threshold
    from {{ rows_in_force_at_window_start(ref('vee_parameters')) }}
),

reads as (
    select
        r.meter_id, r.channel, r.read_at,
        arg_max(r.register_value, {{ version_key('r') }}) as register_value,
        max(r.file_id) as version,
        count(*) as n_rows
    from {{ source('raw', 'register_reads') }} r, params p
    where r.read_at >= p.ws - p.lookback and r.read_at < p.we + 1
    {% if as_of is not none %}
      and r.file_id in (select file_id from {{ source('raw', 'file_ledger') }}
                        where ingested_at < cast('{{ as_of }}' as date) + 1)
    {% endif %}
    group by all
),

pairs as (
    select
        *,
        lag(read_at) over w as prev_read_at,
        lag(register_value) over w as prev_register_value,
        lag(version) over w as prev_version
    from reads
    window w as (partition by meter_id, channel order by read_at)
),

classified as (
    select
        pr.*,
        m.customer_id, m.register_digits, m.multiplier,
        cast(pow(10, m.register_digits) as decimal(18, 2)) as wrap_at,
        case
            when pr.register_value >= pr.prev_register_value then 'normal'
            when pr.prev_register_value > p.rollover_threshold * pow(10, m.register_digits)
                then 'rollover'
            else 'register_reset'
        end as event
    from pairs pr
    cross join params p
    left join {{ ref('stg_metering_points') }} m
        on m.meter_id = pr.meter_id
       and cast(pr.read_at - interval 1 minute as date)
           between m.valid_from and coalesce(m.valid_to, date '9999-12-31')
    where pr.prev_read_at is not null
      and pr.prev_read_at >= pr.read_at - to_days(p.lookback)
)

select
    meter_id,
    customer_id,
    channel,
    cast(read_at - interval 1 minute as date) as reading_date,
    prev_read_at,
    read_at,
    cast(datediff('minute', prev_read_at, read_at) / 1440.0 as decimal(9, 3)) as days_covered,
    prev_register_value,
    register_value,
    register_digits,
    multiplier,
    event,
    cast(case event
        when 'normal' then register_value - prev_register_value
        when 'rollover' then register_value + wrap_at - prev_register_value
    end as decimal(18, 2)) as register_delta,
    cast(case event
        when 'normal' then (register_value - prev_register_value) * multiplier
        when 'rollover' then (register_value + wrap_at - prev_register_value) * multiplier
    end as decimal(18, 3)) as primary_delta,
    version,
    prev_version,
    n_rows - 1 as duplicate_rows
from classified, params p
where cast(read_at - interval 1 minute as date) >= p.ws
  and cast(read_at - interval 1 minute as date) < p.we
