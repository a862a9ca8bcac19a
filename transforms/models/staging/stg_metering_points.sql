select * from {{ source('master', 'metering_points') }}
