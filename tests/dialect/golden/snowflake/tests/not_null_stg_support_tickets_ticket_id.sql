select *
from "ANALYTICS"."STG_SUPPORT_TICKETS" as t
where "TICKET_ID" is null
