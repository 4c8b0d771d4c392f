select t."ACCOUNT_ID" as value
from "ANALYTICS"."PERSON_ACCOUNT_MEMBERSHIPS" as t
left join "ANALYTICS"."ACCOUNT_PROFILES" as parent on t."ACCOUNT_ID" = parent."PROFILE_ID"
where t."ACCOUNT_ID" is not null and parent."PROFILE_ID" is null
