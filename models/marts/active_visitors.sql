-- Anonymous ids seen in the last {{var "active_days"}} days before the as-of date.
with params as (
  select cast('{{var "as_of"}}' as timestamp) as as_of
)
select
  e.anonymous_id,
  max(e.user_id) as user_id,
  count(*) as events,
  max(e.occurred_at) as last_seen_at
from {{ref "stg_events"}} as e
cross join params as p
where e.occurred_at >= {{timestamp_minus "p.as_of" (var "active_days") "day"}}
group by e.anonymous_id
