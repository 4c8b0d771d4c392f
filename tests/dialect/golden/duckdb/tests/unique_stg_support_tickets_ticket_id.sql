select "ticket_id" as value, count(*) as occurrences
from "analytics"."stg_support_tickets" as t
where "ticket_id" is not null
group by "ticket_id"
having count(*) > 1
