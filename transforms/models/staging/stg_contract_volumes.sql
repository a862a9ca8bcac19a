select contract_id, period, contracted_kwh from {{ source('master', 'contract_volumes') }}
