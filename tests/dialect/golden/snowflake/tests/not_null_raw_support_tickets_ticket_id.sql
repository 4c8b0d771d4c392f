select *
from "ANALYTICS"."RAW_SUPPORT_TICKETS" as t
where "TICKET_ID" is null
