select "ORDER_ID" as value, count(*) as occurrences
from "ANALYTICS"."RAW_ORDERS" as t
where "ORDER_ID" is not null
group by "ORDER_ID"
having count(*) > 1
