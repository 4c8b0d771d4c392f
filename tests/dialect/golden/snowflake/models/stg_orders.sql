select
  order_id,
  case when lower(trim(customer_id)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(customer_id) end
 as customer_id,
  nullif(regexp_replace(lower(email), '[[:space:]]', ''), '') as email,
  case when lower(trim(phone)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(phone) end
 as phone,
  ordered_at,
  amount,
  upper(currency) as currency,
  lower(status) as status
from "ANALYTICS"."RAW_ORDERS"
