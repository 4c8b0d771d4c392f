select "STATUS" as value, count(*) as occurrences
from "ANALYTICS"."STG_ORDERS" as t
where "STATUS" is not null and "STATUS" not in ('completed', 'refunded', 'cancelled')
group by "STATUS"
