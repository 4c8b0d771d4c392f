select *
from "ANALYTICS"."STG_ORDERS" as t
where "ORDER_ID" is null
