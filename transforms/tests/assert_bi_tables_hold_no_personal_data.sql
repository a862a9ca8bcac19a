{{ config(meta={'dagster': {'ref': {'name': 'dim_contacts'}}}) }}
-- No full phone number, e-mail address, bank account or contact name in the BI-facing
-- contact/retailer tables.
select c.contact_id as id, 'phone' as what
from {{ ref('dim_contacts') }} m
join {{ source('restricted', 'contacts') }} c using (contact_id)
where length(c.phone) >= 7 and m.phone_masked = c.phone
union all
select c.contact_id, 'email'
from {{ ref('dim_contacts') }} m
join {{ source('restricted', 'contacts') }} c using (contact_id)
where position('@' in c.email) >= 2 and m.email_masked = c.email
union all
select c.contact_id, 'contact_name'
from {{ ref('dim_contacts') }} m
join {{ source('restricted', 'contacts') }} c using (contact_id)
where length(trim(c.contact_name)) > 1 and m.contact_name = c.contact_name
union all
select r.retailer_id, 'bank_account'
from {{ ref('dim_retailers') }} m
join {{ source('restricted', 'retailers') }} r using (retailer_id)
where length(r.bank_account) > 4 and m.bank_account_masked = r.bank_account
