select *
from "analytics"."marketing_consent" as t
where "email" is null
