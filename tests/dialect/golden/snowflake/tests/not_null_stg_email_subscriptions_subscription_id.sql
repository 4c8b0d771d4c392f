select *
from "ANALYTICS"."STG_EMAIL_SUBSCRIPTIONS" as t
where "SUBSCRIPTION_ID" is null
