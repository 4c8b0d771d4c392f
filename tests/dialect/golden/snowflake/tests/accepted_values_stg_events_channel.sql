select "CHANNEL" as value, count(*) as occurrences
from "ANALYTICS"."STG_EVENTS" as t
where "CHANNEL" is not null and "CHANNEL" not in ('web', 'app')
group by "CHANNEL"
