
select * from `analytics.stg_orders` where status = 'completed'
