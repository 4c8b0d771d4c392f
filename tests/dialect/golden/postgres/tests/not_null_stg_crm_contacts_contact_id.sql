select *
from "analytics"."stg_crm_contacts" as t
where "contact_id" is null
