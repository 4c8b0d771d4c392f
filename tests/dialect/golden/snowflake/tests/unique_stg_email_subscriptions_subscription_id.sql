select "SUBSCRIPTION_ID" as value, count(*) as occurrences
from "ANALYTICS"."STG_EMAIL_SUBSCRIPTIONS" as t
where "SUBSCRIPTION_ID" is not null
group by "SUBSCRIPTION_ID"
having count(*) > 1
