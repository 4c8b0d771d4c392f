select *
from "ANALYTICS"."MARKETING_CONSENT" as t
where "EMAIL" is null
