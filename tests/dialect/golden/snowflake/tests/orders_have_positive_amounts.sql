-- Completed orders must have a positive amount.
select order_id, amount from "ANALYTICS"."STG_ORDERS" where status = 'completed' and amount <= 0
