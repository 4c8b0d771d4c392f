select *
from `analytics.raw_email_subscriptions` as t
where `subscription_id` is null
