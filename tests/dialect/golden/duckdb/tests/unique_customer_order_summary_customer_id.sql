select "customer_id" as value, count(*) as occurrences
from "analytics"."customer_order_summary" as t
where "customer_id" is not null
group by "customer_id"
having count(*) > 1
