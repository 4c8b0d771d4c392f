{{config materialized="incremental" unique_key="event_id"}}
select
  event_id,
  anonymous_id,
  {{> clean_text col="user_id"}} as user_id,
  {{clean_email "email"}} as email,
  event_type,
  occurred_at,
  channel
from {{ref "raw_events"}}
{{#if is_incremental}}
-- Only events newer than what is already loaded.
where occurred_at > (select max(occurred_at) from {{this}})
{{/if}}
