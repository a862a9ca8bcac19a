{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Segments of a customer-month (issue 9): the days in service (core.int_customer_service_days)
-- split where the customer master version in force changes (voltage level, tariff type,
-- capacity, contract demand, basic-charge mode, PF standard, region, …: a new customers.csv
-- row). segment_no 1, 2, … in the order of the segments' first day; a segment is a run of
-- consecutive in-service days with the same version (days out of service inside a run do not
-- split it). A month without a master-data change has exactly one segment, equal to the
-- month's row in core.int_customer_month (same kWh, demand, prices, PF).
-- Each segment has its own determinants — kWh and kvarh (in total and per TOU block, from
-- core.int_customer_day_blocks of its days, each block summed then cast to 3 dp as in
-- core.int_customer_month_blocks), the maximum demand over its days, its days in service
-- (segment_days, which prorate its basic charge) — and its own prices: the tariff rows of the
-- month (valid on the 1st, as for the month) for the segment's voltage level and tariff type
-- in the grid of its region on its first day, and the PF table rate for its own power factor
-- (computed on its kWh / kvarh) and pf_standard. tariff_missing: a price the segment's tariff
-- type / basic-charge mode needs is absent (the month is then unbilled, no_tariff).
-- Meter exchanges do not split a month (the metering point is not a customer version); the
-- package and contract are monthly (package changes take effect at month boundaries, see
-- core.int_customer_month).

with service as (
    select customer_id, day, period_start, customer_valid_from
    from {{ ref('int_customer_service_days') }}
    where day >= {{ window_start() }} and day < {{ window_end() }} and in_service
),

-- gaps and islands: a new segment where the version differs from the previous in-service day's
islands as (
    select *, sum(is_new) over (partition by customer_id, period_start order by day) as segment_no
    from (
        select *,
               case when customer_valid_from is not distinct from lag(customer_valid_from) over (
                        partition by customer_id, period_start order by day)
                    then 0 else 1 end as is_new
        from service
    )
),

segments as (
    select customer_id, period_start, cast(segment_no as integer) as segment_no,
           any_value(customer_valid_from) as customer_valid_from,
           min(day) as segment_from, max(day) as segment_to,
           cast(count(*) as integer) as segment_days,
           cast(day(last_day(period_start)) as integer) as days_in_month
    from islands
    group by customer_id, period_start, segment_no
),

segment_days as (
    select customer_id, day, period_start, cast(segment_no as integer) as segment_no from islands
),

-- kWh / kvarh per segment and TOU block (each block cast to 3 dp, as the month's blocks) and the
-- block's maximum demand, in one scan of the day blocks
block_kwh as (
    select sd.customer_id, sd.period_start, sd.segment_no, b.block,
           cast(sum(b.kwh) as decimal(18, 3)) as kwh,
           cast(sum(b.kvarh) as decimal(18, 3)) as kvarh,
           max(b.max_kw) as max_kw
    from {{ ref('int_customer_day_blocks') }} b
    join segment_days sd on sd.customer_id = b.customer_id and sd.day = b.reading_date
    where b.reading_date >= {{ window_start() }} and b.reading_date < {{ window_end() }}
    group by all
),

energy as (
    select customer_id, period_start, segment_no,
           sum(kwh) as kwh, sum(kvarh) as kvarh,
           sum(kwh) filter (where block = 'sharp') as kwh_sharp,
           sum(kwh) filter (where block = 'peak') as kwh_peak,
           sum(kwh) filter (where block = 'flat') as kwh_flat,
           sum(kwh) filter (where block = 'valley') as kwh_valley,
           sum(kwh) filter (where block = 'deep_valley') as kwh_deep_valley,
           cast(max(max_kw) as decimal(18, 3)) as max_demand_kw
    from block_kwh
    group by all
),

-- the segment's grid: the customer's region on its first day
grids as (
    select s.customer_id, s.period_start, s.segment_no, dc.grid
    from segments s
    join {{ ref('int_customer_day_calendar') }} dc
        on dc.customer_id = s.customer_id and dc.day = s.segment_from
),

tariffs as (
    select tariff_code, grid, voltage_level, tariff_type, price, valid_from,
           coalesce(valid_to, date '9999-12-31') as valid_to
    from {{ ref('tariffs') }}
),

-- per tariff code the most specific row wins: exact voltage and tariff type before a '*' row
tariff_rows as (
    select
        s.customer_id, s.period_start, s.segment_no, tf.tariff_code,
        arg_max(tf.price, (tf.voltage_level <> '*')::int * 2 + (tf.tariff_type <> '*')::int) as price,
        arg_max(tf.valid_from, (tf.voltage_level <> '*')::int * 2 + (tf.tariff_type <> '*')::int)
            as valid_from
    from segments s
    join {{ ref('stg_customers') }} c
        on c.customer_id = s.customer_id and c.valid_from = s.customer_valid_from
    join grids g
        on g.customer_id = s.customer_id and g.period_start = s.period_start
       and g.segment_no = s.segment_no
    join tariffs tf
        on tf.grid = g.grid and tf.voltage_level in (c.voltage_level, '*') and tf.tariff_type in (c.tariff_type, '*')
       and s.period_start between tf.valid_from and tf.valid_to
       and (c.tariff_type = 'two_part' or tf.tariff_code not in ('basic_capacity', 'basic_demand'))
    group by all
),

priced as (
    select
        customer_id, period_start, segment_no,
        max(case when tariff_code = 'td_energy' then price end) as td_energy_price,
        max(case when tariff_code = 'system_operation' then price end) as system_operation_price,
        max(case when tariff_code = 'government_funds' then price end) as government_funds_price,
        max(case when tariff_code = 'line_loss_rate' then price end) as line_loss_rate,
        max(case when tariff_code = 'basic_capacity' then price end) as basic_capacity_price,
        max(case when tariff_code = 'basic_demand' then price end) as basic_demand_price,
        max(valid_from) as tariff_valid_from
    from tariff_rows
    group by all
),

joined as (
    select
        s.customer_id,
        strftime(s.period_start, '%Y-%m') as period,
        s.period_start,
        s.segment_no,
        s.segment_from,
        s.segment_to,
        s.segment_days,
        s.days_in_month,
        s.customer_valid_from,
        g.grid,
        c.voltage_level,
        c.tariff_type,
        c.pf_standard,
        c.basic_charge_mode,
        c.contract_capacity_kva,
        c.contract_demand_kw,
        c.transformer_kva,
        coalesce(e.kwh, 0) as kwh,
        coalesce(e.kvarh, 0) as kvarh,
        coalesce(e.kwh_sharp, 0) as kwh_sharp,
        coalesce(e.kwh_peak, 0) as kwh_peak,
        coalesce(e.kwh_flat, 0) as kwh_flat,
        coalesce(e.kwh_valley, 0) as kwh_valley,
        coalesce(e.kwh_deep_valley, 0) as kwh_deep_valley,
        e.max_demand_kw,
        {{ pf_hundredths('e.kwh', 'e.kvarh') }} as pf_hundredths,
        p.td_energy_price,
        p.system_operation_price,
        p.government_funds_price,
        p.line_loss_rate,
        p.basic_capacity_price,
        p.basic_demand_price,
        p.tariff_valid_from,
        p.td_energy_price is null or p.system_operation_price is null
            or p.government_funds_price is null or p.line_loss_rate is null
            or (c.tariff_type = 'two_part' and c.basic_charge_mode = 'capacity'
                and p.basic_capacity_price is null)
            or (c.tariff_type = 'two_part'
                and c.basic_charge_mode in ('contract_demand', 'actual_demand')
                and p.basic_demand_price is null) as tariff_missing
    from segments s
    join {{ ref('stg_customers') }} c
        on c.customer_id = s.customer_id and c.valid_from = s.customer_valid_from
    left join energy e
        on e.customer_id = s.customer_id and e.period_start = s.period_start
       and e.segment_no = s.segment_no
    left join grids g
        on g.customer_id = s.customer_id and g.period_start = s.period_start
       and g.segment_no = s.segment_no
    left join priced p
        on p.customer_id = s.customer_id and p.period_start = s.period_start
       and p.segment_no = s.segment_no
)

-- the PF rate of the segment: its own power factor and pf_standard (macro pf_rate_of)
{{ pf_rate_of('joined', ref('pf_adjustment_rates')) }}
