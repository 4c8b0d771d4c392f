select *
from "ANALYTICS"."RAW_ORDERS" as t
where "ORDER_ID" is null
