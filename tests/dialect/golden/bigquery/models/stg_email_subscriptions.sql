select
  subscription_id,
  nullif(regexp_replace(lower(email), '[[:space:]]', ''), '') as email,
  list_name,
  lower(status) as status,
  consent_marketing,
  consent_updated_at,
  source
from `analytics.raw_email_subscriptions`
