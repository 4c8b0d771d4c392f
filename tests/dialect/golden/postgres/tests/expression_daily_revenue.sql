select *
from "analytics"."daily_revenue" as t
where not (orders > 0 and revenue >= 0)
