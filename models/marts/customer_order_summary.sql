{{config materialized="table"}}
-- One row per known customer id: order count, revenue, first and last order.
select
  customer_id,
  count(*) as order_count,
  sum(amount) as lifetime_value,
  min(ordered_at) as first_order_at,
  max(ordered_at) as last_order_at
from {{ref "completed_orders"}}
where customer_id is not null
group by customer_id
