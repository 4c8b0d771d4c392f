select "event_id" as value, count(*) as occurrences
from "analytics"."stg_events" as t
where "event_id" is not null
group by "event_id"
having count(*) > 1
