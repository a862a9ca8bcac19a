{#- The settlement pricing of a customer-month, shared by the bills and the package what-if
    (issue 11, domain.md §9: re-rating with the billing models): one implementation,
    parameterised by the package on each row. core.fct_settlement_lines passes the contract's
    package; core.fct_package_whatif_lines passes every package the customer may take. -#}

{#- settlement_segment_rows(billable, segments): one row per segment of each billable
    customer-month: the segment's customer version, determinants, days and prices; the month's
    package, contract volume and settlement parameters. kwh_before: kWh of the earlier segments
    (month-level tiers and green volume are filled in segment order).
    billable: rows of core.int_customer_month that can be billed; segments: their rows of
    core.int_customer_month_segments (both CTE names, already restricted to the months wanted). -#}
{% macro settlement_segment_rows(billable, segments) -%}
    select
        m.customer_id, m.period, m.period_start, s.segment_no, s.segment_from, s.segment_to,
        m.package_id, m.model_code, m.package_valid_from, m.contracted_kwh,
        m.kwh as month_kwh,
        s.voltage_level, s.tariff_type, s.pf_standard, s.basic_charge_mode,
        s.contract_capacity_kva, s.contract_demand_kw, s.transformer_kva,
        s.kwh, s.kwh_sharp, s.kwh_peak, s.kwh_flat, s.kwh_valley, s.kwh_deep_valley,
        s.max_demand_kw,
        s.td_energy_price, s.system_operation_price, s.government_funds_price, s.line_loss_rate,
        s.basic_capacity_price, s.basic_demand_price, s.pf_rate_pct,
        -- basic-charge proration (macro prorated_price): by the segment's days over the month's
        -- days when basic_charge_proration = 1; when it is 0 and the month has segments, the
        -- month's days in service are shared among them (over days_in_service: together they
        -- pay one month, never a month each); one segment and proration 0: the full month
        s.segment_days as days_in_service,
        case when coalesce(m.basic_charge_proration, 0) <> 1
                  and count(*) over (partition by m.customer_id, m.period) > 1
             then m.days_in_service else m.days_in_month end as days_in_month,
        case when count(*) over (partition by m.customer_id, m.period) > 1 then 1
             else m.basic_charge_proration end as basic_charge_proration,
        m.pf_base_line_loss, m.pf_base_system_operation, m.pf_base_td_energy,
        m.demand_band_factor, m.demand_excess_multiplier, m.min_contract_demand_share,
        m.band_billed_at_base, m.lt_1kv_no_sharp_deep, m.line_loss_base_agency,
        coalesce(sum(s.kwh) over (partition by m.customer_id, m.period order by s.segment_no
                                  rows between unbounded preceding and 1 preceding), 0)
            as kwh_before
    from {{ billable }} m
    join {{ segments }} s
        on s.customer_id = m.customer_id and s.period_start = m.period_start
{%- endmacro %}

{#- settlement_lines(cm, deviation_tiers): every settlement line (domain.md §1–§5) of the rows
    of `cm` (columns of settlement_segment_rows), one set per (customer_id, period, segment_no,
    package_id): each row is priced with its own package_id / model_code / package_valid_from,
    so a customer-month given with several packages is priced once per package.
    deviation_tiers: rows of core.fct_deviation_tiers for the months of `cm` (the contract's
    clause and tier kWh do not depend on the package; their price, the month's average energy
    price, does). Columns: customer_id, period, segment_no, package_id, line_no, line_code,
    quantity, unit, unit_price, amount_yuan. -#}
{% macro settlement_lines(cm, deviation_tiers) -%}
{#- amount = money(quantity, unit_price) (macros/money.sql): round(quantity × unit_price, 2)
    half away from zero, exact, rounded once. -#}
{%- set amount = money('quantity', 'unit_price') %}
with prices as (
    select * from {{ ref('int_package_block_prices') }}
),

packages as (
    select * from {{ ref('retail_packages') }}
),

agency as (
    select period, price from {{ ref('market_index_prices') }} where index_code = 'agency_price'
),

-- <1 kV users get no sharp / deep-valley block when the rule is on (domain.md §2):
-- sharp kWh are billed as peak, deep-valley kWh as valley
blocks as (
    select b.customer_id, b.period, b.segment_no, b.package_id,
           case when b.voltage_level = 'lt_1kv' and b.lt_1kv_no_sharp_deep = 1
                then case b.block when 'sharp' then 'peak' when 'deep_valley' then 'valley'
                          else b.block end
                else b.block end as block,
           sum(b.kwh) as kwh
    from (
        -- one row per block of each segment (a cross join, not DuckDB's UNPIVOT statement:
        -- SQLMesh, which loads this project for `make money-preview`, cannot parse that)
        select cm.customer_id, cm.period, cm.segment_no, cm.package_id, cm.voltage_level,
               cm.lt_1kv_no_sharp_deep, v.block,
               case v.block when 'sharp' then cm.kwh_sharp when 'peak' then cm.kwh_peak
                    when 'flat' then cm.kwh_flat when 'valley' then cm.kwh_valley
                    else cm.kwh_deep_valley end as kwh
        from {{ cm }} cm
        cross join (values ('sharp'), ('peak'), ('flat'), ('valley'), ('deep_valley')) v(block)
    ) b
    where b.kwh is not null
    group by all
),

-- ① energy: per TOU block, single price, or monthly volume tiers (阶梯)
energy_tou as (
    select cm.customer_id, cm.period, cm.segment_no, cm.package_id,
           10 + case b.block when 'sharp' then 1 when 'peak' then 2
               when 'flat' then 3 when 'valley' then 4 else 5 end as line_no,
           'energy_' || b.block as line_code, b.kwh as quantity, 'kWh' as unit,
           p.price_yuan_per_kwh as unit_price
    from {{ cm }} cm
    join blocks b
        on b.customer_id = cm.customer_id and b.period = cm.period and b.segment_no = cm.segment_no
       and b.package_id = cm.package_id
    join prices p on p.package_id = cm.package_id and p.period = cm.period and p.block = b.block
    where cm.model_code in ('FIXED', 'LINKED', 'SPREAD', 'GREEN') and b.kwh <> 0
),

energy_single as (
    select cm.customer_id, cm.period, cm.segment_no, cm.package_id, 10 as line_no,
           'energy_single' as line_code,
           cm.kwh as quantity, 'kWh' as unit, p.price_yuan_per_kwh as unit_price
    from {{ cm }} cm
    join prices p on p.package_id = cm.package_id and p.period = cm.period and p.block = 'flat'
    where cm.model_code = 'SINGLE'
),

energy_tiered as (
    select cm.customer_id, cm.period, cm.segment_no, cm.package_id, 10 + t.tier_no as line_no,
           'energy_tier' || t.tier_no as line_code,
           -- the segment's part of the month's tier: [kwh_before, kwh_before + kwh] ∩ tier
           cast(case t.tier_no
               when 1 then least(cm.kwh_before + cm.kwh, pk.tier1_kwh)
                           - least(cm.kwh_before, pk.tier1_kwh)
               when 2 then greatest(least(cm.kwh_before + cm.kwh, pk.tier2_kwh)
                                    - greatest(cm.kwh_before, pk.tier1_kwh), 0)
               else greatest(cm.kwh_before + cm.kwh - greatest(cm.kwh_before, pk.tier2_kwh), 0)
               end as decimal(18, 3)) as quantity,
           'kWh' as unit,
           cast(p.price_yuan_per_kwh + case t.tier_no when 1 then 0 when 2 then pk.tier2_markup
               else pk.tier3_markup end as decimal(18, 6)) as unit_price
    from {{ cm }} cm
    join packages pk on pk.package_id = cm.package_id and pk.valid_from = cm.package_valid_from
    join prices p on p.package_id = cm.package_id and p.period = cm.period and p.block = 'flat'
    cross join (values (1), (2), (3)) t(tier_no)
    where cm.model_code = 'TIERED'
),

energy as (
    select * from energy_tou
    union all select * from energy_single
    union all select * from energy_tiered where quantity > 0
),

energy_amounts as (
    select *, {{ amount }} as amount_yuan from energy
),

energy_totals as (
    select customer_id, period, segment_no, package_id, sum(amount_yuan) as energy_yuan
    from energy_amounts group by all
),

-- the month's energy (all segments): the deviation price base
month_energy_totals as (
    select customer_id, period, package_id, sum(amount_yuan) as energy_yuan
    from energy_amounts group by all
),

-- green environmental value: stated separately, outside TOU floating and the PF base, on
-- min(contracted, consumed) kWh (domain.md §5.6; generation volumes are not an input yet)
green as (
    select cm.customer_id, cm.period, cm.segment_no, cm.package_id, 20 as line_no,
           'green_value' as line_code,
           least(cm.kwh_before + cm.kwh, coalesce(cm.contracted_kwh, cm.month_kwh))
               - least(cm.kwh_before, coalesce(cm.contracted_kwh, cm.month_kwh)) as quantity,
           'kWh' as unit, cast(pk.green_value as decimal(18, 6)) as unit_price
    from {{ cm }} cm
    join packages pk on pk.package_id = cm.package_id and pk.valid_from = cm.package_valid_from
    where cm.model_code = 'GREEN' and pk.green_value is not null
),

-- ② line loss: price base × r / (1 − r); base = the customer's average energy price (default)
-- or the month's agency purchase price (parameter line_loss_base_agency_price = 1)
line_loss as (
    select cm.customer_id, cm.period, cm.segment_no, cm.package_id, 30 as line_no,
           'line_loss' as line_code,
           cm.kwh as quantity,
           'kWh' as unit,
           {{ price6("case when cm.line_loss_base_agency = 1 then a.price else "
                     ~ price6('e.energy_yuan / cm.kwh') ~ " end"
                     ~ " * cm.line_loss_rate / (1 - cm.line_loss_rate)") }} as unit_price
    from {{ cm }} cm
    join energy_totals e using (customer_id, period, segment_no, package_id)
    left join agency a on a.period = cm.period
    where cm.kwh > 0
),

-- ③ T&D energy (single- or two-part price by voltage), ④ system operation
per_kwh as (
    select customer_id, period, segment_no, package_id, 40 as line_no, 'td_energy' as line_code,
           kwh as quantity, 'kWh' as unit, td_energy_price as unit_price from {{ cm }}
    union all
    select customer_id, period, segment_no, package_id, 50, 'system_operation', kwh, 'kWh',
           system_operation_price from {{ cm }}
),

-- ③ basic charge (two-part): capacity; contract demand C_eff = max(C, share × transformer kVA)
-- with the band (1.05) and the excess at 2×; or actual demand. Over the band the base line is
-- band × C_eff (default reading) or C_eff (variant, band_billed_at_base = 0).
-- Partial month: every basic-charge unit price (capacity, demand, excess, actual demand) is
-- prorated by days in service / days in the month (macro prorated_price, macros/money.sql);
-- quantities and the band test are unchanged (C_eff, and the maximum demand over the days in
-- service). Per segment: its own capacity / demand, maximum demand and days (segment_days).
demand_basis as (
    select *,
           greatest(coalesce(contract_demand_kw, 0),
                    min_contract_demand_share * coalesce(transformer_kva, 0)) as c_eff
    from {{ cm }}
    where tariff_type = 'two_part'
),

basic as (
    select customer_id, period, segment_no, package_id, 60 as line_no,
           'basic_capacity' as line_code,
           contract_capacity_kva as quantity, 'kVA' as unit,
           {{ prorated_price('basic_capacity_price') }} as unit_price
    from demand_basis where basic_charge_mode = 'capacity'
    union all
    select customer_id, period, segment_no, package_id, 61, 'basic_demand',
           cast(case when max_demand_kw <= demand_band_factor * c_eff or band_billed_at_base = 0
                     then c_eff else demand_band_factor * c_eff end as decimal(18, 3)),
           'kW', {{ prorated_price('basic_demand_price') }}
    from demand_basis where basic_charge_mode = 'contract_demand'
    union all
    select customer_id, period, segment_no, package_id, 62, 'basic_demand_excess',
           cast(max_demand_kw - demand_band_factor * c_eff as decimal(18, 3)), 'kW',
           {{ prorated_price('cast(demand_excess_multiplier * basic_demand_price as decimal(18, 6))') }}
    from demand_basis
    where basic_charge_mode = 'contract_demand' and max_demand_kw > demand_band_factor * c_eff
    union all
    select customer_id, period, segment_no, package_id, 63, 'basic_demand_actual',
           max_demand_kw, 'kW', {{ prorated_price('basic_demand_price') }}
    from demand_basis where basic_charge_mode = 'actual_demand'
),

before_pf as (
    select customer_id, period, segment_no, package_id, line_no, line_code, quantity, unit,
           unit_price, amount_yuan
    from energy_amounts
    union all
    select *, {{ amount }} from line_loss
    union all
    select *, {{ amount }} from per_kwh
    union all
    select *, {{ amount }} from basic
),

-- power-factor adjustment: (energy + basic [+ line loss] [+ system operation] [+ T&D energy])
-- × the table rate of the month; green value, deviation and funds are never in the base
pf_base as (
    select b.customer_id, b.period, b.segment_no, b.package_id,
           sum(case
               when b.line_code = 'line_loss' then b.amount_yuan * cm.pf_base_line_loss
               when b.line_code = 'system_operation' then b.amount_yuan * cm.pf_base_system_operation
               when b.line_code = 'td_energy' then b.amount_yuan * cm.pf_base_td_energy
               else b.amount_yuan end) as base_yuan
    from before_pf b
    join {{ cm }} cm using (customer_id, period, segment_no, package_id)
    group by all
),

pf as (
    select cm.customer_id, cm.period, cm.segment_no, cm.package_id, 70 as line_no,
           'pf_adjustment' as line_code,
           cast(pb.base_yuan as decimal(18, 3)) as quantity, '元' as unit,
           cast(cm.pf_rate_pct / 100 as decimal(18, 6)) as unit_price
    from {{ cm }} cm
    join pf_base pb using (customer_id, period, segment_no, package_id)
    where cm.pf_standard <> 'none' and cm.pf_rate_pct <> 0
),

-- deviation penalty per tier (domain.md §4) at the customer's average energy price of the
-- month under the row's package; on segment 1
deviation as (
    select d.customer_id, d.period, 1 as segment_no, e.package_id, 80 + d.tier_no as line_no,
           'deviation_tier' || d.tier_no as line_code, d.tier_kwh as quantity, 'kWh' as unit,
           {{ price6('d.coefficient * ' ~ price6('e.energy_yuan / d.kwh')) }} as unit_price
    from {{ deviation_tiers }} d
    join month_energy_totals e using (customer_id, period)
    where d.coefficient > 0 and d.tier_kwh > 0
),

-- ⑤ government funds (outside the PF base)
funds as (
    select customer_id, period, segment_no, package_id, 90 as line_no,
           'government_funds' as line_code,
           kwh as quantity,
           'kWh' as unit, government_funds_price as unit_price
    from {{ cm }}
)

select * from before_pf
union all select *, {{ amount }} from green
union all select *, {{ amount }} from pf
union all select *, {{ amount }} from deviation
union all select *, {{ amount }} from funds
{%- endmacro %}

{#- is_package_dependent_line(code): true for the lines whose amount depends on the retail
    package (what the package what-if re-prices): energy (TOU blocks, single price, tiers), the
    green value, line loss (priced at the average energy price), the PF adjustment (its base
    holds energy and line loss) and the deviation tiers (priced at the average energy price).
    T&D, system operation, the basic charge and government funds do not. -#}
{% macro is_package_dependent_line(code) -%}
({{ code }} like 'energy_%' or {{ code }} in ('green_value', 'line_loss', 'pf_adjustment')
 or {{ code }} like 'deviation_tier%')
{%- endmacro %}

{#- dr_paid_kwh(delivered, committed, min_share, max_share): the kWh a load-reduction DR event
    is paid (config seed dr_packages; docs/domain.md §5): min(delivered, max_share × committed)
    when delivered ≥ min_share × committed, else 0; NULL delivered (incomplete data) pays 0.
    DECIMAL(18, 3), half away from zero. Used by the bills (core.fct_dr_events) and the uptake
    simulation (analytics.dr_uptake): one rule. -#}
{% macro dr_paid_kwh(delivered, committed, min_share, max_share) -%}
cast(case when {{ delivered }} is null or {{ delivered }} < {{ min_share }} * {{ committed }}
          then 0
          else round(least({{ delivered }}, {{ max_share }} * {{ committed }}), 3) end
     as decimal(18, 3))
{%- endmacro %}

{#- dr_enrollment_in_force(row): the joins of a row alias with a customer_id and a
    period_start to the DR enrollment (master.dr_enrollments, alias e) and the dr_packages
    version (alias k) in force on that month's first day: the month rule of DR packages. -#}
{% macro dr_enrollment_in_force(row) -%}
    join {{ source('master', 'dr_enrollments') }} e
        on e.customer_id = {{ row }}.customer_id and e.valid_from <= {{ row }}.period_start
       and coalesce(e.valid_to, date '9999-12-31') >= {{ row }}.period_start
    join {{ ref('dr_packages') }} k
        on k.dr_package_id = e.dr_package_id and k.valid_from <= {{ row }}.period_start
       and coalesce(k.valid_to, date '9999-12-31') >= {{ row }}.period_start
{%- endmacro %}

{#- dr_delivered_kwh(baseline, actual, minutes): a DR event's delivered kWh,
    max(0, baseline − actual) kW × minutes / 60 (macro kwh_for_minutes); NULL when the
    curtailment result has no baseline or no actual (incomplete data). -#}
{% macro dr_delivered_kwh(baseline, actual, minutes) -%}
case when {{ baseline }} is not null and {{ actual }} is not null then
    {{ kwh_for_minutes('greatest(' ~ baseline ~ ' - ' ~ actual ~ ', 0)', minutes) }}
end
{%- endmacro %}
