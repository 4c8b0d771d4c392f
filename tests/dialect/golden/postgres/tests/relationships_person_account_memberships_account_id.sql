select t."account_id" as value
from "analytics"."person_account_memberships" as t
left join "analytics"."account_profiles" as parent on t."account_id" = parent."profile_id"
where t."account_id" is not null and parent."profile_id" is null
