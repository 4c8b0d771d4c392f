select *
from "analytics"."stg_support_tickets" as t
where "ticket_id" is null
