
-- Browsing without buying: profiles with web/app activity in the last 90 days
-- before as_of and no completed order in that time. A SQL segment, for logic rules cannot express.
select g.profile_id, g.email, g.first_name, g.last_seen_at
from "analytics"."customer_golden" as g
where g.last_seen_at >= cast('2026-06-30' as timestamp) - interval '90 days'
  and g.last_seen_at <= cast('2026-06-30' as timestamp)
  and (g.last_order_at is null or g.last_order_at < cast('2026-06-30' as timestamp) - interval '90 days')
