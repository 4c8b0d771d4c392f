-- Anonymous ids seen in the last 90 days before the as-of date.
select
  anonymous_id,
  max(user_id) as user_id,
  count(*) as events,
  max(occurred_at) as last_seen_at
from "analytics"."stg_events"
where occurred_at >= cast('2026-06-30' as timestamp) - interval '90 days'
group by anonymous_id
