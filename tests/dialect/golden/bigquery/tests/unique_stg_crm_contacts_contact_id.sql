select `contact_id` as value, count(*) as occurrences
from `analytics.stg_crm_contacts` as t
where `contact_id` is not null
group by `contact_id`
having count(*) > 1
