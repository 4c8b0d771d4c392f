select *
from "ANALYTICS"."RAW_EVENTS" as t
where "EVENT_ID" is null
