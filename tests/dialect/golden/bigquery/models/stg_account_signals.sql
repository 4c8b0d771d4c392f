-- CRM contacts that name a company: each is evidence about one account (B2B).
select
  contact_id,
  crm_account_id,
  company_domain,
  company_name,
  created_at,
  updated_at
from `analytics.stg_crm_contacts`
where crm_account_id is not null or company_domain is not null
