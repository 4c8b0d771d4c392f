WITH
-- attribute customer_id: source_priority
"attr1_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "customer_id" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_orders' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "customer_id" AS "value", "ordered_at" AS "updated_at", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_events' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "user_id" AS "value", "occurred_at" AS "updated_at", CAST("event_id" AS text) AS "record_key" FROM "analytics"."stg_events") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_events' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr1" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY CASE "source" WHEN 'stg_crm_contacts' THEN 0 WHEN 'stg_orders' THEN 1 WHEN 'stg_events' THEN 2 ELSE 3 END, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr1_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute first_name: most_recent
"attr2_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "first_name" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr2" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr2_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute last_name: most_recent
"attr3_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "last_name" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr3" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr3_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute email: most_frequent
"attr4_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_orders' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "ordered_at" AS "updated_at", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_email_subscriptions' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "consent_updated_at" AS "updated_at", CAST("subscription_id" AS text) AS "record_key" FROM "analytics"."stg_email_subscriptions") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_email_subscriptions' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_support_tickets' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "created_at" AS "updated_at", CAST("ticket_id" AS text) AS "record_key" FROM "analytics"."stg_support_tickets") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_support_tickets' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr4" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM (SELECT *, count(*) OVER (PARTITION BY "profile_id", "value") AS "value_frequency", max("updated_at") OVER (PARTITION BY "profile_id", "value") AS "value_last_seen" FROM "attr4_candidates") AS "counted"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute emails: collect
"attr5_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_orders' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "ordered_at" AS "updated_at", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_email_subscriptions' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "email" AS "value", "consent_updated_at" AS "updated_at", CAST("subscription_id" AS text) AS "record_key" FROM "analytics"."stg_email_subscriptions") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_email_subscriptions' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr5" AS (
  SELECT "profile_id", array_agg(DISTINCT "value" ORDER BY "value") FILTER (WHERE "value" IS NOT NULL) AS "value", array_agg(DISTINCT "source" ORDER BY "source") FILTER (WHERE "source" IS NOT NULL) AS "source"
  FROM "attr5_candidates"
  GROUP BY "profile_id"
),
-- attribute phone: source_priority
"attr6_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "phone" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_orders' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "phone" AS "value", "ordered_at" AS "updated_at", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_support_tickets' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "phone" AS "value", "created_at" AS "updated_at", CAST("ticket_id" AS text) AS "record_key" FROM "analytics"."stg_support_tickets") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_support_tickets' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr6" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY CASE "source" WHEN 'stg_crm_contacts' THEN 0 WHEN 'stg_orders' THEN 1 WHEN 'stg_support_tickets' THEN 2 ELSE 3 END, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr6_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute company_name: most_recent
"attr7_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "company_name" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr7" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr7_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute first_seen_at: min
"attr8_candidates" AS (
  SELECT "sr"."profile_id", 'stg_crm_contacts' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "created_at" AS "value", "updated_at" AS "updated_at", CAST("contact_id" AS text) AS "record_key" FROM "analytics"."stg_crm_contacts") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_crm_contacts' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_events' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "occurred_at" AS "value", "occurred_at" AS "updated_at", CAST("event_id" AS text) AS "record_key" FROM "analytics"."stg_events") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_events' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
  UNION ALL
  SELECT "sr"."profile_id", 'stg_orders' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "ordered_at" AS "value", "ordered_at" AS "updated_at", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr8" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY "value" ASC, CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr8_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- attribute marketing_consent: most_recent
"attr9_candidates" AS (
  SELECT "sr"."profile_id", 'stg_email_subscriptions' AS "source", "s"."value", "s"."updated_at", "s"."record_key"
  FROM (SELECT "consent_marketing" AS "value", "consent_updated_at" AS "updated_at", CAST("subscription_id" AS text) AS "record_key" FROM "analytics"."stg_email_subscriptions") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_email_subscriptions' AND "sr"."record_key" = "s"."record_key"
  WHERE "s"."value" IS NOT NULL
),
"attr9" AS (
  SELECT "profile_id", "value", "source" FROM (
    SELECT "profile_id", "value", "source", row_number() OVER (PARTITION BY "profile_id" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "rank"
    FROM "attr9_candidates"
  ) AS "ranked"
  WHERE "rank" = 1
),
-- trait order_count: count
"trait1" AS (
  SELECT "sr"."profile_id", count(*) AS "value"
  FROM (SELECT CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders" WHERE (status = 'completed')) AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  GROUP BY "sr"."profile_id"
),
-- trait lifetime_value: sum
"trait2" AS (
  SELECT "sr"."profile_id", sum("s"."value") AS "value"
  FROM (SELECT "amount" AS "value", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders" WHERE (status = 'completed')) AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  GROUP BY "sr"."profile_id"
),
-- trait first_order_at: min
"trait3" AS (
  SELECT "sr"."profile_id", min("s"."value") AS "value"
  FROM (SELECT "ordered_at" AS "value", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders" WHERE (status = 'completed')) AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  GROUP BY "sr"."profile_id"
),
-- trait last_order_at: max
"trait4" AS (
  SELECT "sr"."profile_id", max("s"."value") AS "value"
  FROM (SELECT "ordered_at" AS "value", CAST("order_id" AS text) AS "record_key" FROM "analytics"."stg_orders" WHERE (status = 'completed')) AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_orders' AND "sr"."record_key" = "s"."record_key"
  GROUP BY "sr"."profile_id"
),
-- trait last_seen_at: max
"trait5" AS (
  SELECT "sr"."profile_id", max("s"."value") AS "value"
  FROM (SELECT "occurred_at" AS "value", CAST("event_id" AS text) AS "record_key" FROM "analytics"."stg_events") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_events' AND "sr"."record_key" = "s"."record_key"
  GROUP BY "sr"."profile_id"
),
-- trait ticket_count: count
"trait6" AS (
  SELECT "sr"."profile_id", count(*) AS "value"
  FROM (SELECT CAST("ticket_id" AS text) AS "record_key" FROM "analytics"."stg_support_tickets") AS "s"
  JOIN "analytics"."customer_source_records" AS "sr" ON "sr"."source" = 'stg_support_tickets' AND "sr"."record_key" = "s"."record_key"
  GROUP BY "sr"."profile_id"
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
