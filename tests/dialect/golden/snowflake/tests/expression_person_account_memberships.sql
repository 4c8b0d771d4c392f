select *
from "ANALYTICS"."PERSON_ACCOUNT_MEMBERSHIPS" as t
where not (valid_to is null or valid_to > valid_from)
