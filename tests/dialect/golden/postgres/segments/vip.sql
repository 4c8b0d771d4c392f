SELECT "f"."profile_id", "f"."email", "f"."first_name", "f"."last_name", "f"."lifetime_value", "f"."order_count"
FROM "analytics"."customer_golden" AS "f"
WHERE (("f"."lifetime_value" >= 500) AND ("f"."marketing_consent" = TRUE) AND (NOT COALESCE(("f"."email" IS NULL), FALSE)))
