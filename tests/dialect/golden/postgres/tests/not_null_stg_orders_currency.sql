select *
from "analytics"."stg_orders" as t
where "currency" is null
