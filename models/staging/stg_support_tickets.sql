select
  ticket_id,
  {{clean_email "email"}} as email,
  {{> clean_text col="phone"}} as phone,
  subject,
  created_at,
  lower(status) as status
from {{ref "raw_support_tickets"}}
