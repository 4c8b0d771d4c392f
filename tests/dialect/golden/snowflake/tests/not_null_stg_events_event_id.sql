select *
from "ANALYTICS"."STG_EVENTS" as t
where "EVENT_ID" is null
