select "EMAIL" as value, count(*) as occurrences
from "ANALYTICS"."MARKETING_CONSENT" as t
where "EMAIL" is not null
group by "EMAIL"
having count(*) > 1
