
-- Browsing without buying: profiles with web/app activity in the last 90 days
-- before as_of and no completed order in that time. A SQL segment, for logic rules cannot express.
-- timestamp_minus writes the window in each warehouse's own date arithmetic.
with params as (
  select cast('2026-06-30' as timestamp) as as_of
)
select g.profile_id, g.email, g.first_name, g.last_seen_at
from "analytics"."customer_golden" as g
cross join params as p
where g.last_seen_at >= (p.as_of - INTERVAL '90 day')
  and g.last_seen_at <= p.as_of
  and (g.last_order_at is null or g.last_order_at < (p.as_of - INTERVAL '90 day'))
