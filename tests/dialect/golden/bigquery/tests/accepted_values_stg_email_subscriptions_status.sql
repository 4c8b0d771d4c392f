select `status` as value, count(*) as occurrences
from `analytics.stg_email_subscriptions` as t
where `status` is not null and `status` not in ('subscribed', 'unsubscribed')
group by `status`
