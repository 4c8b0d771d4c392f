
select * from "ANALYTICS"."STG_ORDERS" where status = 'completed'
