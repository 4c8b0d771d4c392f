
select
  event_id,
  anonymous_id,
  case when lower(trim(user_id)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(user_id) end
 as user_id,
  nullif(regexp_replace(lower(email), '[[:space:]]', ''), '') as email,
  event_type,
  occurred_at,
  channel
from "ANALYTICS"."RAW_EVENTS"
