
-- Which company each person worked for, and when. A person who changes employer keeps one
-- person profile and gets a new membership; the old one ends where the new one starts.
with links as (
  select p.profile_id as person_id, a.profile_id as account_id, s.updated_at as seen_at
  from "analytics"."stg_account_signals" as s
  join "analytics"."customer_source_records" as p on p.source = 'stg_crm_contacts' and p.record_key = s.contact_id
  join "analytics"."account_source_records" as a on a.source = 'stg_account_signals' and a.record_key = s.contact_id
),
spans as (
  select person_id, account_id, min(seen_at) as valid_from, max(seen_at) as last_seen_at
  from links
  group by person_id, account_id
)
select
  person_id,
  account_id,
  valid_from,
  lead(valid_from) over (partition by person_id order by valid_from, account_id) as valid_to,
  last_seen_at
from spans
