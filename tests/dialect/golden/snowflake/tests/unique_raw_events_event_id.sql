select "EVENT_ID" as value, count(*) as occurrences
from "ANALYTICS"."RAW_EVENTS" as t
where "EVENT_ID" is not null
group by "EVENT_ID"
having count(*) > 1
