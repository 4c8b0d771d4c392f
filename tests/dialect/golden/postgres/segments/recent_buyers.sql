SELECT "f"."profile_id", "f"."email", "f"."first_name", "f"."last_order_at"
FROM "analytics"."customer_golden" AS "f"
WHERE ("f"."last_order_at" >= (CAST('2026-06-30' AS timestamp) - INTERVAL '30 day') AND "f"."last_order_at" <= CAST('2026-06-30' AS timestamp))
