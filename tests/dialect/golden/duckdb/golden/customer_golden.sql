WITH
-- source stg_crm_contacts
"src1" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s".*
  FROM (SELECT "customer_id" AS "a1_1", "first_name" AS "a2_1", "last_name" AS "a3_1", "email" AS "a4_1", "email" AS "a5_1", "phone" AS "a6_1", "company_name" AS "a7_1", "created_at" AS "a8_1", "updated_at" AS "updated_at", CAST("contact_id" AS VARCHAR) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
),
-- source stg_orders
"src2" AS (
  SELECT "sr"."profile_id", 'stg_orders' AS "source", "s".*
  FROM (SELECT "customer_id" AS "a1_2", "email" AS "a4_2", "email" AS "a5_2", "phone" AS "a6_2", "ordered_at" AS "a8_3", CASE WHEN (status = 'completed') THEN 1 ELSE 0 END AS "t1_where", "amount" AS "t2_value", CASE WHEN (status = 'completed') THEN 1 ELSE 0 END AS "t2_where", "ordered_at" AS "t3_value", CASE WHEN (status = 'completed') THEN 1 ELSE 0 END AS "t3_where", "ordered_at" AS "t4_value", CASE WHEN (status = 'completed') THEN 1 ELSE 0 END AS "t4_where", "ordered_at" AS "updated_at", CAST("order_id" AS VARCHAR) AS "record_key" FROM "analytics"."stg_orders") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
),
-- source stg_events
"src3" AS (
  SELECT "sr"."profile_id", 'stg_events' AS "source", "s".*
  FROM (SELECT "user_id" AS "a1_3", "occurred_at" AS "a8_2", "occurred_at" AS "t5_value", "occurred_at" AS "updated_at", CAST("event_id" AS VARCHAR) AS "record_key" FROM "analytics"."stg_events") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_events' AND "sr"."record_key" = "s"."record_key"
),
-- source stg_email_subscriptions
"src4" AS (
  SELECT "sr"."profile_id", 'stg_email_subscriptions' AS "source", "s".*
  FROM (SELECT "email" AS "a4_3", "email" AS "a5_3", "consent_marketing" AS "a9_1", "consent_updated_at" AS "updated_at", CAST("subscription_id" AS VARCHAR) AS "record_key" FROM "analytics"."stg_email_subscriptions") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_email_subscriptions' AND "sr"."record_key" = "s"."record_key"
),
-- source stg_support_tickets
"src5" AS (
  SELECT "sr"."profile_id", 'stg_support_tickets' AS "source", "s".*
  FROM (SELECT "email" AS "a4_4", "phone" AS "a6_3", 1 AS "t6_row", "created_at" AS "updated_at", CAST("ticket_id" AS VARCHAR) AS "record_key" FROM "analytics"."stg_support_tickets") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_support_tickets' AND "sr"."record_key" = "s"."record_key"
),
-- attribute customer_id: source_priority
"attr1_candidates" AS (
  SELECT "profile_id", "source", "a1_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a1_1" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a1_2" AS "value", "updated_at", "record_key"
  FROM "src2" WHERE "a1_2" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a1_3" AS "value", "updated_at", "record_key"
  FROM "src3" WHERE "a1_3" IS NOT NULL
),
"attr1" AS (
  SELECT "profile_id", first("value" ORDER BY CASE "source" WHEN 'stg_crm_contacts' THEN 0 WHEN 'stg_orders' THEN 1 WHEN 'stg_events' THEN 2 ELSE 3 END, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY CASE "source" WHEN 'stg_crm_contacts' THEN 0 WHEN 'stg_orders' THEN 1 WHEN 'stg_events' THEN 2 ELSE 3 END, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr1_candidates"
  GROUP BY "profile_id"
),
-- attribute first_name: most_recent
"attr2_candidates" AS (
  SELECT "profile_id", "source", "a2_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a2_1" IS NOT NULL
),
"attr2" AS (
  SELECT "profile_id", first("value" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr2_candidates"
  GROUP BY "profile_id"
),
-- attribute last_name: most_recent
"attr3_candidates" AS (
  SELECT "profile_id", "source", "a3_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a3_1" IS NOT NULL
),
"attr3" AS (
  SELECT "profile_id", first("value" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr3_candidates"
  GROUP BY "profile_id"
),
-- attribute email: most_frequent
"attr4_candidates" AS (
  SELECT "profile_id", "source", "a4_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a4_1" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a4_2" AS "value", "updated_at", "record_key"
  FROM "src2" WHERE "a4_2" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a4_3" AS "value", "updated_at", "record_key"
  FROM "src4" WHERE "a4_3" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a4_4" AS "value", "updated_at", "record_key"
  FROM "src5" WHERE "a4_4" IS NOT NULL
),
"attr4" AS (
  SELECT "profile_id", first("value" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "value", first("source" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "source"
  FROM (SELECT "profile_id", "value", count(*) AS "value_frequency", max("updated_at") AS "value_last_seen", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source" FROM "attr4_candidates" GROUP BY "profile_id", "value") AS "counted"
  GROUP BY "profile_id"
),
-- attribute emails: collect
"attr5_candidates" AS (
  SELECT "profile_id", "source", "a5_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a5_1" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a5_2" AS "value", "updated_at", "record_key"
  FROM "src2" WHERE "a5_2" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a5_3" AS "value", "updated_at", "record_key"
  FROM "src4" WHERE "a5_3" IS NOT NULL
),
"attr5" AS (
  SELECT "profile_id", CASE WHEN count("value") = 0 THEN NULL ELSE list_sort(list_distinct(list("value"))) END AS "value", CASE WHEN count("source") = 0 THEN NULL ELSE list_sort(list_distinct(list("source"))) END AS "source"
  FROM "attr5_candidates"
  GROUP BY "profile_id"
),
-- attribute phone: source_priority
"attr6_candidates" AS (
  SELECT "profile_id", "source", "a6_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a6_1" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a6_2" AS "value", "updated_at", "record_key"
  FROM "src2" WHERE "a6_2" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a6_3" AS "value", "updated_at", "record_key"
  FROM "src5" WHERE "a6_3" IS NOT NULL
),
"attr6" AS (
  SELECT "profile_id", first("value" ORDER BY CASE "source" WHEN 'stg_crm_contacts' THEN 0 WHEN 'stg_orders' THEN 1 WHEN 'stg_support_tickets' THEN 2 ELSE 3 END, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY CASE "source" WHEN 'stg_crm_contacts' THEN 0 WHEN 'stg_orders' THEN 1 WHEN 'stg_support_tickets' THEN 2 ELSE 3 END, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr6_candidates"
  GROUP BY "profile_id"
),
-- attribute company_name: most_recent
"attr7_candidates" AS (
  SELECT "profile_id", "source", "a7_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a7_1" IS NOT NULL
),
"attr7" AS (
  SELECT "profile_id", first("value" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr7_candidates"
  GROUP BY "profile_id"
),
-- attribute first_seen_at: min
"attr8_candidates" AS (
  SELECT "profile_id", "source", "a8_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a8_1" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a8_2" AS "value", "updated_at", "record_key"
  FROM "src3" WHERE "a8_2" IS NOT NULL
  UNION ALL
  SELECT "profile_id", "source", "a8_3" AS "value", "updated_at", "record_key"
  FROM "src2" WHERE "a8_3" IS NOT NULL
),
"attr8" AS (
  SELECT "profile_id", first("value" ORDER BY "value" ASC, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY "value" ASC, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr8_candidates"
  GROUP BY "profile_id"
),
-- attribute marketing_consent: most_recent
"attr9_candidates" AS (
  SELECT "profile_id", "source", "a9_1" AS "value", "updated_at", "record_key"
  FROM "src4" WHERE "a9_1" IS NOT NULL
),
"attr9" AS (
  SELECT "profile_id", first("value" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "value", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source"
  FROM "attr9_candidates"
  GROUP BY "profile_id"
),
-- trait order_count: count
"trait1" AS (
  SELECT "profile_id", count(*) AS "value"
  FROM "src2" WHERE "t1_where" = 1
  GROUP BY "profile_id"
),
-- trait lifetime_value: sum
"trait2" AS (
  SELECT "profile_id", sum("t2_value") AS "value"
  FROM "src2" WHERE "t2_where" = 1
  GROUP BY "profile_id"
),
-- trait first_order_at: min
"trait3" AS (
  SELECT "profile_id", min("t3_value") AS "value"
  FROM "src2" WHERE "t3_where" = 1
  GROUP BY "profile_id"
),
-- trait last_order_at: max
"trait4" AS (
  SELECT "profile_id", max("t4_value") AS "value"
  FROM "src2" WHERE "t4_where" = 1
  GROUP BY "profile_id"
),
-- trait last_seen_at: max
"trait5" AS (
  SELECT "profile_id", max("t5_value") AS "value"
  FROM "src3"
  GROUP BY "profile_id"
),
-- trait ticket_count: count
"trait6" AS (
  SELECT "profile_id", count(*) AS "value"
  FROM "src5"
  GROUP BY "profile_id"
)
SELECT
  "p"."profile_id",
  "attr1"."value" AS "customer_id",
  "attr1"."source" AS "customer_id__source",
  "attr2"."value" AS "first_name",
  "attr2"."source" AS "first_name__source",
  "attr3"."value" AS "last_name",
  "attr3"."source" AS "last_name__source",
  "attr4"."value" AS "email",
  "attr4"."source" AS "email__source",
  "attr5"."value" AS "emails",
  "attr5"."source" AS "emails__source",
  "attr6"."value" AS "phone",
  "attr6"."source" AS "phone__source",
  "attr7"."value" AS "company_name",
  "attr7"."source" AS "company_name__source",
  "attr8"."value" AS "first_seen_at",
  "attr8"."source" AS "first_seen_at__source",
  "attr9"."value" AS "marketing_consent",
  "attr9"."source" AS "marketing_consent__source",
  COALESCE("trait1"."value", 0) AS "order_count",
  "trait2"."value" AS "lifetime_value",
  "trait3"."value" AS "first_order_at",
  "trait4"."value" AS "last_order_at",
  "trait5"."value" AS "last_seen_at",
  COALESCE("trait6"."value", 0) AS "ticket_count"
FROM "analytics"."customer_profiles" AS "p"
LEFT JOIN "attr1" ON "attr1"."profile_id" = "p"."profile_id"
LEFT JOIN "attr2" ON "attr2"."profile_id" = "p"."profile_id"
LEFT JOIN "attr3" ON "attr3"."profile_id" = "p"."profile_id"
LEFT JOIN "attr4" ON "attr4"."profile_id" = "p"."profile_id"
LEFT JOIN "attr5" ON "attr5"."profile_id" = "p"."profile_id"
LEFT JOIN "attr6" ON "attr6"."profile_id" = "p"."profile_id"
LEFT JOIN "attr7" ON "attr7"."profile_id" = "p"."profile_id"
LEFT JOIN "attr8" ON "attr8"."profile_id" = "p"."profile_id"
LEFT JOIN "attr9" ON "attr9"."profile_id" = "p"."profile_id"
LEFT JOIN "trait1" ON "trait1"."profile_id" = "p"."profile_id"
LEFT JOIN "trait2" ON "trait2"."profile_id" = "p"."profile_id"
LEFT JOIN "trait3" ON "trait3"."profile_id" = "p"."profile_id"
LEFT JOIN "trait4" ON "trait4"."profile_id" = "p"."profile_id"
LEFT JOIN "trait5" ON "trait5"."profile_id" = "p"."profile_id"
LEFT JOIN "trait6" ON "trait6"."profile_id" = "p"."profile_id"
