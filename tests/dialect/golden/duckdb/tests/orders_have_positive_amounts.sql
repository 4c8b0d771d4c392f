-- Completed orders must have a positive amount.
select order_id, amount from "analytics"."stg_orders" where status = 'completed' and amount <= 0
