
with __cdp_ephemeral_completed_orders as (
select * from `analytics.stg_orders` where status = 'completed'
)
select
  cast(ordered_at as date) as order_date,
  currency,
  count(*) as orders,
  sum(amount) as revenue
from __cdp_ephemeral_completed_orders
group by cast(ordered_at as date), currency
