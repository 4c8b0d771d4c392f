select
  contact_id,
  {{> clean_text col="customer_id"}} as customer_id,
  {{> clean_text col="first_name"}} as first_name,
  {{> clean_text col="last_name"}} as last_name,
  {{clean_email "email"}} as email,
  {{> clean_text col="phone"}} as phone,
  {{digits_only "phone"}} as phone_digits,
  {{> clean_text col="company_name"}} as company_name,
  lower({{> clean_text col="company_domain"}}) as company_domain,
  {{> clean_text col="crm_account_id"}} as crm_account_id,
  {{> clean_text col="job_title"}} as job_title,
  created_at,
  updated_at
from {{ref "raw_crm_contacts"}}
