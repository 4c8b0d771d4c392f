select "anonymous_id" as value, count(*) as occurrences
from "analytics"."active_visitors" as t
where "anonymous_id" is not null
group by "anonymous_id"
having count(*) > 1
