{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Settlement lines per customer and month (domain.md §1–§5), recomputed from the current
-- validated consumption and config on every run. finance.bill_lines is the first-issued copy;
-- for a closed month the difference becomes finance.adjustments. Every amount is
-- round(quantity × unit_price, 2) half away from zero, so each line explains itself and a
-- bill's total is the sum of its lines. Prices 6 dp (funds 8 dp); quantities kWh 3 dp.
-- Every parameter (PF base, demand band, variants, the <1 kV rule) comes from the
-- effective-dated settlement_parameters rows carried on int_customer_month.
-- Segments (issue 9): a customer-month whose master version changes inside the month is priced
-- per segment (core.int_customer_month_segments): each segment_no has its own lines — energy on
-- its TOU kWh, line loss at its own average energy price, T&D / system operation / funds at its
-- voltage level's and tariff type's prices, the basic charge of its capacity / demand prorated
-- by its days (segment_days / days_in_month), PF on its own base at the rate of its own power
-- factor and pf_standard. Month-level quantities are split in segment order: volume tiers and
-- the green-value volume are filled by segment 1 first, then segment 2 (their sums are the
-- month's); the deviation lines (one contract, one month) are on segment 1, at the month's
-- average energy price. One segment (no change) = the month's lines, unchanged.

-- The pricing itself is the macro settlement_lines (macros/settlement.sql), shared with the
-- package what-if (core.fct_package_whatif_lines): one implementation, priced here with the
-- contract's package of each month. The demand-response lines (dr_incentive, dr_discount) are
-- added here, after the package's lines.

-- customer-months that can be billed (the others are finance.unbilled, with their reason)
with billable as (
    select * from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and unbilled_reason is null
),

segments as (
    select * from {{ ref('int_customer_month_segments') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

-- one row per segment (macro settlement_segment_rows), with the month's package
cm as (
    {{ settlement_segment_rows('billable', 'segments') }}
),

-- the deviation tiers of the window's months (priced on segment 1 by settlement_lines)
deviation_tiers as (
    select * from {{ ref('fct_deviation_tiers') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

package_lines as (
    {{ settlement_lines('cm', 'deviation_tiers') }}
),

-- demand response (config seed dr_packages, core.int_dr_month), outside the retail package's
-- pricing (the package what-if leaves these lines out) and outside the PF base, on segment 1:
-- dr_incentive = paid kWh × −incentive; dr_discount = the month's energy lines (元) ×
-- −discount_share, unless an event of the month missed its target
dr_months as (
    select * from {{ ref('int_dr_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
),

month_energy as (
    select customer_id, period, sum(amount_yuan) as energy_yuan
    from package_lines where line_code like 'energy_%' group by all
),

-- (typed as the other lines: a union with a DECIMAL(38, 2) would cut every quantity to 2 dp)
dr_lines as (
    select d.customer_id, d.period, 1 as segment_no, 95 as line_no, 'dr_incentive' as line_code,
           cast(d.paid_kwh as decimal(18, 3)) as quantity, 'kWh' as unit,
           cast(-d.incentive_yuan_per_kwh as decimal(18, 8)) as unit_price
    from dr_months d
    join billable b using (customer_id, period)
    where d.kind = 'load_reduction' and d.paid_kwh > 0
    union all
    select d.customer_id, d.period, 1, 96, 'dr_discount', cast(e.energy_yuan as decimal(18, 3)),
           '元', cast(-d.discount_share as decimal(18, 8))
    from dr_months d
    join month_energy e using (customer_id, period)
    where d.kind = 'price_discount' and not d.discount_forfeited and e.energy_yuan <> 0
),

lines as (
    select customer_id, period, segment_no, line_no, line_code, quantity, unit, unit_price,
           amount_yuan
    from package_lines
    union all
    select *, {{ money('quantity', 'unit_price') }} from dr_lines
)

select
    l.customer_id,
    l.period,
    cast(l.period || '-01' as date) as period_start,
    l.segment_no,
    s.segment_from,
    s.segment_to,
    l.line_no,
    l.line_code,
    cast(l.quantity as decimal(18, 3)) as quantity,
    l.unit,
    cast(l.unit_price as decimal(18, 8)) as unit_price,
    cast(l.amount_yuan as decimal(18, 2)) as amount_yuan
from lines l
join (select distinct customer_id, period, segment_no, segment_from, segment_to from cm) s
    using (customer_id, period, segment_no)
