{{config materialized="table"}}
select
  cast(ordered_at as date) as order_date,
  currency,
  count(*) as orders,
  sum(amount) as revenue
from {{ref "completed_orders"}}
group by cast(ordered_at as date), currency
