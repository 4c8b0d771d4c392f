select "CONTACT_ID" as value, count(*) as occurrences
from "ANALYTICS"."STG_CRM_CONTACTS" as t
where "CONTACT_ID" is not null
group by "CONTACT_ID"
having count(*) > 1
