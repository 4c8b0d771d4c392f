-- Anonymous ids seen in the last 90 days before the as-of date.
with params as (
  select cast('2026-06-30' as timestamp) as as_of
)
select
  e.anonymous_id,
  max(e.user_id) as user_id,
  count(*) as events,
  max(e.occurred_at) as last_seen_at
from "analytics"."stg_events" as e
cross join params as p
where e.occurred_at >= (p.as_of - INTERVAL '90 day')
group by e.anonymous_id
