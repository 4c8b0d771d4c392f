select *
from "analytics"."raw_support_tickets" as t
where "ticket_id" is null
