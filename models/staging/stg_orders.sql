select
  order_id,
  {{> clean_text col="customer_id"}} as customer_id,
  {{clean_email "email"}} as email,
  {{> clean_text col="phone"}} as phone,
  ordered_at,
  amount,
  upper(currency) as currency,
  lower(status) as status
from {{ref "raw_orders"}}
