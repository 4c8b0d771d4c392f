select *
from "analytics"."person_account_memberships" as t
where "person_id" is null
