{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook=[
        "{% if is_incremental() %}alter table {{ this }} add column if not exists customer_valid_from date;"
        " alter table {{ this }} add column if not exists days_in_month integer;"
        " alter table {{ this }} add column if not exists days_in_service integer;"
        " alter table {{ this }} add column if not exists service_from date;"
        " alter table {{ this }} add column if not exists service_to date;"
        " alter table {{ this }} add column if not exists basic_charge_proration decimal(18, 6);"
        " alter table {{ this }} add column if not exists unbilled_reason varchar;"
        " alter table {{ this }} add column if not exists grid varchar;"
        " alter table {{ this }} add column if not exists tou_calendar_id varchar;"
        " alter table {{ this }} add column if not exists demand_on_estimate boolean;"
        " alter table {{ this }} add column if not exists demand_read_max_kw decimal(18, 3);"
        " alter table {{ this }} add column if not exists demand_estimate_interval timestamp;"
        " alter table {{ this }} add column if not exists estimated_blocks varchar;"
        " alter table {{ this }} add column if not exists max_block_estimated_share decimal(9, 4);"
        " alter table {{ this }} add column if not exists determinants_on_estimate varchar;"
        " alter table {{ this }} add column if not exists estimated_determinant_policy varchar;"
        " alter table {{ this }} add column if not exists segment_count integer{% endif %}",
        "{{ delete_window('period_start') }}",
    ],
    tags=['monthly'],
) }}
-- One row per customer and month: metered totals, demand, the customer, contract and package
-- versions in force, every unit price and settlement parameter the bill needs (effective-dated
-- config rows, looked up for the first day of the month) and the version (valid_from) of each
-- config row used, so a bill records exactly which tariff, package, PF table, TOU calendar and
-- parameter versions priced it.
-- Prices and grid-specific tariff versions are the first segment's (core.int_customer_month_
-- segments: the customer version and grid on the first day in service; one lookup for both
-- models), the maximum demand the largest of the segments', the power factor the month's
-- (macro pf_hundredths).
-- Grid and TOU calendar: the customer's region on the first day in service
-- (core.int_customer_day_calendar, config seed grid_regions) selects the tariff rows (grid) and
-- the TOU calendar version recorded; no grid or calendar id is written here.
-- Days in service (core.int_customer_service_days: customer version, contract and metering
-- point in force): only their kWh are in the totals (core.int_customer_month_blocks), the
-- customer version is the one in force on the first day in service (a customer starting on the
-- 16th is priced with the version starting on the 16th), the maximum demand is taken over them,
-- and days_in_service / days_in_month prorates the basic charge (parameter
-- basic_charge_proration). unbilled_reason: why a customer-month with kWh in service cannot be
-- billed (no_contract, no_package_price, no_tariff, no_parameters); such a month gets no
-- settlement lines and its kWh are listed in finance.unbilled.
-- Determinants resting on estimates (issue 9; core.int_customer_month_estimated_determinants):
-- demand_on_estimate (only where the maximum demand prices the bill: macro
-- demand_is_determinant), estimated_blocks, their summary determinants_on_estimate
-- ('max_demand;block:peak', NULL when none) and the estimated_determinant_policy in force
-- (settlement parameter: 0 issue, 1 hold; finance.bill_holds applies it).
-- Segments (issue 9): when the customer master version changes inside the month, the month is
-- priced per segment (core.int_customer_month_segments, segment_count of them; the lines carry
-- segment_no). The version, tariff prices, PF and demand here are then those of the month as a
-- whole priced with the first version (month-level facts: the bill header, deviation,
-- unbilled); the bill lines use the segments' own. A month is no_tariff when any segment lacks
-- a tariff price.
-- Contract and package (issue 9): changes take effect at month boundaries. Contracts are
-- month-granular (stg_contracts: start_month … end_month, an early termination ends on the day
-- before its effective month), the contract of the month is the one in force on its first day,
-- and the package version is the retail_packages row in force on the first day of the month
-- (as in core.int_package_block_prices): a package version valid from the 16th prices the
-- following months, not the rest of this one.

with totals as (
    select customer_id, period_start, period,
           sum(kwh) as kwh, sum(kvarh) as kvarh, sum(estimated_kwh) as estimated_kwh,
           sum(failed_intervals) as failed_intervals, max(data_version) as data_version
    from {{ ref('int_customer_month_blocks') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

customers as (
    select * from {{ ref('stg_customers') }}
),

service as (
    select customer_id, period_start,
           arg_min(customer_valid_from, day) filter (where in_service) as customer_valid_from,
           cast(count(*) filter (where in_service) as integer) as days_in_service,
           min(day) filter (where in_service) as service_from,
           max(day) filter (where in_service) as service_to,
           cast(day(last_day(period_start)) as integer) as days_in_month
    from {{ ref('int_customer_service_days') }}
    where day >= {{ window_start() }} and day < {{ window_end() }}
    group by all
),

contracts as (
    select * from {{ ref('stg_contracts') }}
),

segments as (
    select customer_id, period_start, cast(count(*) as integer) as segment_count,
           bool_or(tariff_missing) as tariff_missing
    from {{ ref('int_customer_month_segments') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

packages as (
    select package_id, model_code, valid_from, coalesce(valid_to, date '9999-12-31') as valid_to
    from {{ ref('retail_packages') }}
),

-- the customer's grid and TOU calendar on the first day in service
grids as (
    select s.customer_id, s.period_start, dc.grid, dc.tou_calendar_id
    from service s
    join {{ ref('int_customer_day_calendar') }} dc
        on dc.customer_id = s.customer_id and dc.day = s.service_from
),

-- the month's prices, maximum demand and grid-specific tariff versions: its first segment's (the
-- customer version and grid on the first day in service), and the maximum demand over all of
-- its segments (the days in service)
priced as (
    select customer_id, period_start,
           arg_min(td_energy_price, segment_no) as td_energy_price,
           arg_min(system_operation_price, segment_no) as system_operation_price,
           arg_min(government_funds_price, segment_no) as government_funds_price,
           arg_min(line_loss_rate, segment_no) as line_loss_rate,
           arg_min(basic_capacity_price, segment_no) as basic_capacity_price,
           arg_min(basic_demand_price, segment_no) as basic_demand_price,
           arg_min(tariff_valid_from, segment_no) as tariff_valid_from,
           max(max_demand_kw) as max_demand_kw
    from {{ ref('int_customer_month_segments') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
    group by all
),

-- settlement parameters in force on the first day of each month (one column per parameter)
params as (
    select
        p.period_start,
        max(case when s.parameter = 'pf_base_includes_line_loss' then s.value end) as pf_base_line_loss,
        max(case when s.parameter = 'pf_base_includes_system_operation' then s.value end) as pf_base_system_operation,
        max(case when s.parameter = 'pf_base_includes_td_energy' then s.value end) as pf_base_td_energy,
        max(case when s.parameter = 'demand_band_factor' then s.value end) as demand_band_factor,
        max(case when s.parameter = 'demand_excess_multiplier' then s.value end) as demand_excess_multiplier,
        max(case when s.parameter = 'min_contract_demand_share' then s.value end) as min_contract_demand_share,
        max(case when s.parameter = 'contract_demand_band_billed_at_base' then s.value end) as band_billed_at_base,
        max(case when s.parameter = 'lt_1kv_no_sharp_deep_blocks' then s.value end) as lt_1kv_no_sharp_deep,
        max(case when s.parameter = 'line_loss_base_agency_price' then s.value end) as line_loss_base_agency,
        max(case when s.parameter = 'basic_charge_proration' then s.value end) as basic_charge_proration,
        max(case when s.parameter = 'estimated_determinant_policy' then s.value end) as estimated_determinant_policy,
        max(s.valid_from) as parameters_valid_from
    from (select distinct period_start from totals) p
    join {{ ref('settlement_parameters') }} s
        on p.period_start >= s.valid_from and (s.valid_to is null or p.period_start <= s.valid_to)
    group by all
),

tou_versions as (
    select g.customer_id, g.period_start, max(tp.valid_from) as tou_valid_from
    from grids g
    join {{ ref('tou_periods') }} tp
        on tp.calendar_id = g.tou_calendar_id and tp.valid_from < g.period_start + interval 1 month
       and (tp.valid_to is null or tp.valid_to >= g.period_start)
    group by all
),

joined as (
    select
        t.customer_id,
        t.period,
        t.period_start,
        c.retailer_id,
        k.contract_id,
        k.package_id,
        pk.model_code,
        k.deviation_clause_id,
        c.customer_class,
        c.voltage_level,
        c.tariff_type,
        c.pf_standard,
        c.basic_charge_mode,
        c.contract_capacity_kva,
        c.contract_demand_kw,
        c.transformer_kva,
        t.kwh,
        t.kvarh,
        t.estimated_kwh,
        t.failed_intervals,
        t.data_version,
        p.max_demand_kw,
        d.days_over_capacity,
        v.contracted_kwh,
        -- no active energy in the month (P = 0): no power factor, so no rate (not the 0.00 row)
        {{ pf_hundredths('t.kwh', 't.kvarh') }} as pf_hundredths,
        p.td_energy_price,
        p.system_operation_price,
        p.government_funds_price,
        p.line_loss_rate,
        p.basic_capacity_price,
        p.basic_demand_price,
        pr.pf_base_line_loss,
        pr.pf_base_system_operation,
        pr.pf_base_td_energy,
        pr.demand_band_factor,
        pr.demand_excess_multiplier,
        pr.min_contract_demand_share,
        pr.band_billed_at_base,
        pr.lt_1kv_no_sharp_deep,
        pr.line_loss_base_agency,
        p.tariff_valid_from,
        pk.valid_from as package_valid_from,
        pr.parameters_valid_from,
        tv.tou_valid_from,
        s.customer_valid_from,
        s.days_in_month,
        s.days_in_service,
        s.service_from,
        s.service_to,
        pr.basic_charge_proration,
        g.grid,
        g.tou_calendar_id,
        coalesce(ed.demand_on_estimate, false) and {{ demand_is_determinant('c') }} as demand_on_estimate,
        case when ed.demand_on_estimate and {{ demand_is_determinant('c') }} then ed.demand_read_max_kw end as demand_read_max_kw,
        case when ed.demand_on_estimate and {{ demand_is_determinant('c') }} then ed.demand_estimate_interval end as demand_estimate_interval,
        ed.estimated_blocks,
        ed.max_block_estimated_share,
        nullif(concat_ws(';',
                         case when ed.demand_on_estimate and {{ demand_is_determinant('c') }} then 'max_demand' end,
                         nullif(regexp_replace(coalesce(ed.estimated_blocks, ''), '([a-z_]+)', 'block:\1', 'g'), '')),
               '') as determinants_on_estimate,
        case when pr.estimated_determinant_policy = 1 then 'hold' else 'issue' end
            as estimated_determinant_policy,
        coalesce(sg.segment_count, 1) as segment_count,
        case
            when k.contract_id is null then 'no_contract'
            when pk.package_id is null or not exists (
                select 1 from {{ ref('int_package_block_prices') }} bp
                where bp.package_id = k.package_id and bp.period = t.period and bp.block = 'flat')
                then 'no_package_price'
            -- a price some segment's tariff type / basic-charge mode needs is absent (the first
            -- segment's prices are the month's)
            when coalesce(sg.tariff_missing, true) then 'no_tariff'
            when pr.parameters_valid_from is null then 'no_parameters'
        end as unbilled_reason
    from totals t
    join service s on s.customer_id = t.customer_id and s.period_start = t.period_start
    join customers c on c.customer_id = t.customer_id and c.valid_from = s.customer_valid_from
    left join contracts k
        on k.customer_id = t.customer_id and t.period_start between k.start_date and k.end_date
    left join packages pk
        on pk.package_id = k.package_id and t.period_start between pk.valid_from and pk.valid_to
    left join {{ ref('stg_contract_volumes') }} v on v.contract_id = k.contract_id and v.period = t.period
    left join {{ ref('int_customer_month_demand') }} d
        on d.customer_id = t.customer_id and d.period_start = t.period_start
    left join priced p on p.customer_id = t.customer_id and p.period_start = t.period_start
    left join params pr on pr.period_start = t.period_start
    left join grids g on g.customer_id = t.customer_id and g.period_start = t.period_start
    left join tou_versions tv on tv.customer_id = t.customer_id and tv.period_start = t.period_start
    left join segments sg on sg.customer_id = t.customer_id and sg.period_start = t.period_start
    left join {{ ref('int_customer_month_estimated_determinants') }} ed
        on ed.customer_id = t.customer_id and ed.period_start = t.period_start
)

-- the power-factor rate of the month (macro pf_rate_of)
{{ pf_rate_of('joined', ref('pf_adjustment_rates')) }}
