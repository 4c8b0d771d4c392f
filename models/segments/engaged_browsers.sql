{{config materialized="segment" tags="marketing"}}
-- Browsing without buying: profiles with web/app activity in the last {{var "active_days"}} days
-- before as_of and no completed order in that time. A SQL segment, for logic rules cannot express.
select g.profile_id, g.email, g.first_name, g.last_seen_at
from {{ref "customer_golden"}} as g
where g.last_seen_at >= cast('{{var "as_of"}}' as timestamp) - interval '{{var "active_days"}} days'
  and g.last_seen_at <= cast('{{var "as_of"}}' as timestamp)
  and (g.last_order_at is null or g.last_order_at < cast('{{var "as_of"}}' as timestamp) - interval '{{var "active_days"}} days')
