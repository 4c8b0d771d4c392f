select *
from `analytics.customer_order_summary` as t
where `customer_id` is null
