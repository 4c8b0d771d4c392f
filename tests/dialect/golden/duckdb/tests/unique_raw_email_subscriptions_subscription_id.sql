select "subscription_id" as value, count(*) as occurrences
from "analytics"."raw_email_subscriptions" as t
where "subscription_id" is not null
group by "subscription_id"
having count(*) > 1
