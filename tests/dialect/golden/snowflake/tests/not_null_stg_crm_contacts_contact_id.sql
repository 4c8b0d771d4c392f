select *
from "ANALYTICS"."STG_CRM_CONTACTS" as t
where "CONTACT_ID" is null
