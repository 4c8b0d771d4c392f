select "ANONYMOUS_ID" as value, count(*) as occurrences
from "ANALYTICS"."ACTIVE_VISITORS" as t
where "ANONYMOUS_ID" is not null
group by "ANONYMOUS_ID"
having count(*) > 1
