
-- One row per known customer id: order count, revenue, first and last order.
with __cdp_ephemeral_completed_orders as (
select * from "analytics"."stg_orders" where status = 'completed'
)
select
  customer_id,
  count(*) as order_count,
  sum(amount) as lifetime_value,
  min(ordered_at) as first_order_at,
  max(ordered_at) as last_order_at
from __cdp_ephemeral_completed_orders
where customer_id is not null
group by customer_id
