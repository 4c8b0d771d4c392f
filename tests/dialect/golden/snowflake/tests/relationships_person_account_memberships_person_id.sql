select t."PERSON_ID" as value
from "ANALYTICS"."PERSON_ACCOUNT_MEMBERSHIPS" as t
left join "ANALYTICS"."CUSTOMER_PROFILES" as parent on t."PERSON_ID" = parent."PROFILE_ID"
where t."PERSON_ID" is not null and parent."PROFILE_ID" is null
