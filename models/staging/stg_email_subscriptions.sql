select
  subscription_id,
  {{clean_email "email"}} as email,
  list_name,
  lower(status) as status,
  consent_marketing,
  consent_updated_at,
  source
from {{ref "raw_email_subscriptions"}}
