select "CUSTOMER_ID" as value, count(*) as occurrences
from "ANALYTICS"."CUSTOMER_ORDER_SUMMARY" as t
where "CUSTOMER_ID" is not null
group by "CUSTOMER_ID"
having count(*) > 1
