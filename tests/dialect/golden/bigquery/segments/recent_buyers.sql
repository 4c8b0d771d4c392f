SELECT `f`.`profile_id`, `f`.`email`, `f`.`first_name`, `f`.`last_order_at`
FROM `analytics.customer_golden` AS `f`
WHERE (`f`.`last_order_at` >= TIMESTAMP_SUB(CAST('2026-06-30' AS TIMESTAMP), INTERVAL 30 DAY) AND `f`.`last_order_at` <= CAST('2026-06-30' AS TIMESTAMP))
