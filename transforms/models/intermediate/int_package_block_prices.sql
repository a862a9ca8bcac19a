-- Energy price per retail package, month and TOU block (元/kWh, 6 dp), from the package model
-- (domain.md §5): FIXED/GREEN F_t; LINKED (1−λ)F_t + λI_t; SPREAD R_t − s·α + f with R capped;
-- SINGLE/TIERED one price. Ratio enforcement keeps sharp/peak ≥ and valley/deep ≤ ratio × flat.

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
        p.package_id, p.model_code, per.period, b.block,
        case b.block
            when 'sharp' then p.sharp_ratio when 'peak' then p.peak_ratio
            when 'valley' then p.valley_ratio when 'deep_valley' then p.deep_valley_ratio
            else 1 end as ratio,
        p.flat_price, p.linked_ratio, p.spread, p.sharing_ratio, p.float_price, p.cap_price,
        link.price as linked_index,
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
            when 'FIXED' then flat_price * ratio
            when 'GREEN' then flat_price * ratio
            when 'LINKED' then (1 - linked_ratio) * flat_price * ratio + linked_ratio * linked_index * ratio
            when 'SPREAD' then reference_price * ratio - spread * sharing_ratio + coalesce(float_price, 0)
            else flat_price
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
    period,
    block,
    {{ price6("case
        when model_code in ('SINGLE', 'TIERED') then raw_price
        when block in ('sharp', 'peak') then greatest(raw_price, ratio * flat_raw)
        when block in ('valley', 'deep_valley') then least(raw_price, ratio * flat_raw)
        else raw_price end") }} as price_yuan_per_kwh
from enforced
where raw_price is not null
