select *
from "ANALYTICS"."PERSON_ACCOUNT_MEMBERSHIPS" as t
where "PERSON_ID" is null
