select *
from "ANALYTICS"."RAW_EMAIL_SUBSCRIPTIONS" as t
where "SUBSCRIPTION_ID" is null
