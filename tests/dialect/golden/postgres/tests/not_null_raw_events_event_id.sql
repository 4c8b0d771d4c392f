select *
from "analytics"."raw_events" as t
where "event_id" is null
