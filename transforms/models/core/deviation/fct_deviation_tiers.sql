{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ delete_window('period_start') }}", tags=['monthly'],
) }}
-- Deviation of actual vs contracted volume per customer and month, split into the tiers of the
-- contract's deviation clause (domain.md §4): tier volume = the part of |ΔQ| inside the band
-- (macro deviation_tier_kwh).

with cm as (
    select * from {{ ref('int_customer_month') }}
    where period_start >= {{ window_start() }} and period_start < {{ window_end() }}
      and contracted_kwh > 0
),

clauses as (
    select * from {{ ref('deviation_clauses') }}
)

select
    cm.customer_id,
    cm.period,
    cm.period_start,
    cm.contract_id,
    cm.kwh,
    cm.contracted_kwh,
    cast(cm.kwh - cm.contracted_kwh as decimal(18, 3)) as deviation_kwh,
    cast((cm.kwh - cm.contracted_kwh) / cm.contracted_kwh as decimal(18, 6)) as deviation_ratio,
    c.tier_no,
    c.lower_ratio,
    c.upper_ratio,
    c.coefficient,
    cast({{ deviation_tier_kwh('abs(cm.kwh - cm.contracted_kwh)', 'cm.contracted_kwh',
                               'c.lower_ratio', 'c.upper_ratio') }} as decimal(18, 3)) as tier_kwh
from cm
join clauses c
    on c.deviation_clause_id = cm.deviation_clause_id
   and cm.period_start >= c.valid_from and (c.valid_to is null or cm.period_start <= c.valid_to)
