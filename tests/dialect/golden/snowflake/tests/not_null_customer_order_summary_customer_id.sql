select *
from "ANALYTICS"."CUSTOMER_ORDER_SUMMARY" as t
where "CUSTOMER_ID" is null
