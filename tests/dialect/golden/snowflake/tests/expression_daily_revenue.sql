select *
from "ANALYTICS"."DAILY_REVENUE" as t
where not (orders > 0 and revenue >= 0)
