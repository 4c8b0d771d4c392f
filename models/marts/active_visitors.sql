-- Anonymous ids seen in the last {{var "active_days"}} days before the as-of date.
select
  anonymous_id,
  max(user_id) as user_id,
  count(*) as events,
  max(occurred_at) as last_seen_at
from {{ref "stg_events"}}
where occurred_at >= cast('{{var "as_of"}}' as timestamp) - interval '{{var "active_days"}} days'
group by anonymous_id
