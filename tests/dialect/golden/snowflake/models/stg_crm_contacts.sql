select
  contact_id,
  case when lower(trim(customer_id)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(customer_id) end
 as customer_id,
  case when lower(trim(first_name)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(first_name) end
 as first_name,
  case when lower(trim(last_name)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(last_name) end
 as last_name,
  nullif(regexp_replace(lower(email), '[[:space:]]', ''), '') as email,
  case when lower(trim(phone)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(phone) end
 as phone,
  nullif(regexp_replace(phone, '[^0-9]', ''), '') as phone_digits,
  case when lower(trim(company_name)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(company_name) end
 as company_name,
  lower(case when lower(trim(company_domain)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(company_domain) end
) as company_domain,
  case when lower(trim(crm_account_id)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(crm_account_id) end
 as crm_account_id,
  case when lower(trim(job_title)) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim(job_title) end
 as job_title,
  created_at,
  updated_at
from "ANALYTICS"."RAW_CRM_CONTACTS"
