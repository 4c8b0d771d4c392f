select *
from `analytics.raw_orders` as t
where `order_id` is null
