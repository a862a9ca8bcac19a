-- A completed early termination (workflow.contract_terminations) ends the contract on the last
-- day before its effective month.
select
    k.contract_id, k.customer_id, k.retailer_id, k.package_id, k.deviation_clause_id,
    cast(k.start_month || '-01' as date) as start_date,
    least(
        cast(k.end_month || '-01' as date) + interval 1 month - interval 1 day,
        cast(t.effective_month || '-01' as date) - interval 1 day
    ) as end_date,
    k.termination_rate_yuan_per_mwh, k.termination_cap_yuan, k.status
from {{ source('master', 'contracts') }} k
left join {{ source('workflow', 'contract_terminations') }} t using (contract_id)
