select "CONTACT_ID" as value, count(*) as occurrences
from "ANALYTICS"."RAW_CRM_CONTACTS" as t
where "CONTACT_ID" is not null
group by "CONTACT_ID"
having count(*) > 1
