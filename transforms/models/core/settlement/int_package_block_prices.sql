-- Energy price per retail package, month and TOU block (元/kWh, 6 dp), from the package model
-- (domain.md §5), for the package version in force on the first day of the month:
--   FIXED / GREEN  P_t = A_t if the package states an absolute block price (sharp_price,
--                  peak_price, valley_price, deep_valley_price), else F·ratio_t
--                  (green value is a separate line)
--   LINKED         P_t = (1−λ)·F·ratio_t + λ·I·ratio_t  (I = linked index of the month)
--   SPREAD         P_t = R·ratio_t − s·α + f            (R = reference index of the month)
--   SINGLE         one price for every block; TIERED: tier-1 price (tiers are billed per volume)
-- cap_price limits the base price the model floats from (F, the linked blend (1−λ)F + λI, or
-- R), before the TOU ratios: the cap is the regulated ceiling of the transaction price
-- (coal benchmark × 1.2), and capping each block instead would undo the TOU ratios below.
-- Ratio enforcement (§5.5) after the formula: sharp/peak ≥ ratio × flat, valley/deep ≤ ratio × flat
-- (skipped for a block without a ratio: absolute prices need no ratio).
-- A market index row is needed only by LINKED (linked_target) and SPREAD (reference_type): a
-- FIXED, GREEN, SINGLE or TIERED package is priced without any market_index_prices row.

with packages as (
    select * from {{ ref('retail_packages') }}
),

periods as (
    select distinct period, cast(period || '-01' as date) as period_start
    from {{ ref('dim_calendar') }}
),

indexes as (
    select period, index_code, price from {{ ref('market_index_prices') }}
),

blocks as (
    select * from (values ('sharp'), ('peak'), ('flat'), ('valley'), ('deep_valley')) b(block)
),

base as (
    select
        p.package_id, p.model_code, p.valid_from as package_valid_from, per.period, b.block,
        case b.block
            when 'sharp' then p.sharp_ratio when 'peak' then p.peak_ratio
            when 'valley' then p.valley_ratio when 'deep_valley' then p.deep_valley_ratio
            else 1 end as ratio,
        case b.block
            when 'sharp' then p.sharp_price when 'peak' then p.peak_price
            when 'valley' then p.valley_price when 'deep_valley' then p.deep_valley_price
        end as absolute_price,
        p.linked_ratio, p.spread, p.sharing_ratio, p.float_price,
        least(p.flat_price, coalesce(p.cap_price, p.flat_price)) as flat_base,
        least((1 - p.linked_ratio) * p.flat_price + p.linked_ratio * link.price,
              coalesce(p.cap_price, (1 - p.linked_ratio) * p.flat_price + p.linked_ratio * link.price))
            as linked_base,
        least(ref.price, coalesce(p.cap_price, ref.price)) as reference_price
    from packages p
    cross join periods per
    cross join blocks b
    left join indexes link on link.period = per.period and link.index_code = p.linked_target
    left join indexes ref on ref.period = per.period and ref.index_code = p.reference_type
    where per.period_start >= p.valid_from
      and (p.valid_to is null or per.period_start <= p.valid_to)
),

formula as (
    select
        *,
        case model_code
            when 'FIXED' then coalesce(absolute_price, flat_base * ratio)
            when 'GREEN' then coalesce(absolute_price, flat_base * ratio)
            when 'LINKED' then linked_base * ratio
            when 'SPREAD' then reference_price * ratio - spread * sharing_ratio + coalesce(float_price, 0)
            else flat_base
        end as raw_price
    from base
),

enforced as (
    select
        f.*,
        max(case when block = 'flat' then raw_price end)
            over (partition by package_id, period) as flat_raw
    from formula f
)

select
    package_id,
    model_code,
    package_valid_from,
    period,
    block,
    {{ price6("case
        when model_code in ('SINGLE', 'TIERED') then raw_price
        when block in ('sharp', 'peak') then greatest(raw_price, coalesce(ratio * flat_raw, raw_price))
        when block in ('valley', 'deep_valley') then least(raw_price, coalesce(ratio * flat_raw, raw_price))
        else raw_price end") }} as price_yuan_per_kwh
from enforced
where raw_price is not null
