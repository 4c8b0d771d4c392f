select *
from "ANALYTICS"."STG_ORDERS" as t
where "CURRENCY" is null
