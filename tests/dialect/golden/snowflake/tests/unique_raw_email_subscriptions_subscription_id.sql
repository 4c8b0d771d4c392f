select "SUBSCRIPTION_ID" as value, count(*) as occurrences
from "ANALYTICS"."RAW_EMAIL_SUBSCRIPTIONS" as t
where "SUBSCRIPTION_ID" is not null
group by "SUBSCRIPTION_ID"
having count(*) > 1
