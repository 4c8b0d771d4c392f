select *
from "analytics"."stg_events" as t
where "event_id" is null
