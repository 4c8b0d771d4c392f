select "STATUS" as value, count(*) as occurrences
from "ANALYTICS"."STG_EMAIL_SUBSCRIPTIONS" as t
where "STATUS" is not null and "STATUS" not in ('subscribed', 'unsubscribed')
group by "STATUS"
