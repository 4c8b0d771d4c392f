select *
from `analytics.raw_crm_contacts` as t
where `contact_id` is null
