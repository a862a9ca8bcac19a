select * from {{ source('master', 'customers') }}
