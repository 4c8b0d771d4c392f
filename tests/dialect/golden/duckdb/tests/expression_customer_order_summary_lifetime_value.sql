select *
from "analytics"."customer_order_summary" as t
where not (lifetime_value > 0)
