select *
from "analytics"."stg_email_subscriptions" as t
where "subscription_id" is null
