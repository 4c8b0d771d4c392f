select "channel" as value, count(*) as occurrences
from "analytics"."stg_events" as t
where "channel" is not null and "channel" not in ('web', 'app')
group by "channel"
