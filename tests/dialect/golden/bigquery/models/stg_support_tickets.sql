select
  ticket_id,
  nullif(regexp_replace(lower(email), '[[:space:]]', ''), '') as email,
  case when lower(trim(phone)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(phone) end
 as phone,
  subject,
  created_at,
  lower(status) as status
from `analytics.raw_support_tickets`
