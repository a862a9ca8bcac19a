-- Contacts for BI: name, phone and e-mail masked (full values only in restricted.contacts).
select
    contact_id,
    customer_id,
    {{ mask_name('contact_name') }} as contact_name,
    role,
    {{ mask_phone('phone') }} as phone_masked,
    {{ mask_email('email') }} as email_masked,
    channels
from {{ source('restricted', 'contacts') }}
