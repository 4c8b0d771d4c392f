select *
from "ANALYTICS"."CUSTOMER_ORDER_SUMMARY" as t
where not (lifetime_value > 0)
