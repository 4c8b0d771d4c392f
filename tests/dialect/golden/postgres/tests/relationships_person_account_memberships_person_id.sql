select t."person_id" as value
from "analytics"."person_account_memberships" as t
left join "analytics"."customer_profiles" as parent on t."person_id" = parent."profile_id"
where t."person_id" is not null and parent."profile_id" is null
