select *
from "ANALYTICS"."RAW_CRM_CONTACTS" as t
where "CONTACT_ID" is null
