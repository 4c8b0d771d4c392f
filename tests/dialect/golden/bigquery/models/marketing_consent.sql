
-- Latest consent per email address.
select email, consent_marketing, consent_updated_at
from (
  select
    email,
    consent_marketing,
    consent_updated_at,
    row_number() over (partition by email order by consent_updated_at desc, subscription_id desc) as rn
  from `analytics.stg_email_subscriptions`
  where email is not null
) as ranked
where rn = 1
