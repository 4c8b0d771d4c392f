select "TICKET_ID" as value, count(*) as occurrences
from "ANALYTICS"."RAW_SUPPORT_TICKETS" as t
where "TICKET_ID" is not null
group by "TICKET_ID"
having count(*) > 1
