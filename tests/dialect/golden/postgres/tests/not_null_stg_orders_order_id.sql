select *
from "analytics"."stg_orders" as t
where "order_id" is null
