select *
from "analytics"."person_account_memberships" as t
where not (valid_to is null or valid_to > valid_from)
