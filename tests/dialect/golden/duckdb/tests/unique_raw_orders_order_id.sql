select "order_id" as value, count(*) as occurrences
from "analytics"."raw_orders" as t
where "order_id" is not null
group by "order_id"
having count(*) > 1
