SELECT "f"."profile_id", "f"."email", "f"."first_name", "f"."last_order_at", "f"."lifetime_value"
FROM "analytics"."customer_golden" AS "f"
WHERE (("f"."order_count" > 0) AND ("f"."last_order_at" < (CAST('2026-06-30' AS timestamp) - INTERVAL '180 day')))
  AND NOT EXISTS (SELECT 1 FROM "analytics"."vip" AS "exc1" WHERE "exc1"."profile_id" = "f"."profile_id")
