-- Retailers for BI: bank account masked (full value only in restricted.retailers).
select
    retailer_id,
    retailer_name,
    bank_name,
    {{ mask_account('bank_account') }} as bank_account_masked,
    account_holder,
    margin_guarantee_yuan,
    valid_from,
    valid_to
from {{ source('restricted', 'retailers') }}
