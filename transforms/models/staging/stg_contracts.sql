select
    contract_id, customer_id, retailer_id, package_id, deviation_clause_id,
    cast(start_month || '-01' as date) as start_date,
    cast(end_month || '-01' as date) + interval 1 month - interval 1 day as end_date,
    termination_rate_yuan_per_mwh, termination_cap_yuan, status
from {{ source('master', 'contracts') }}
