WITH
-- source stg_account_signals
"src1" AS (
  SELECT "sr"."profile_id", 'stg_account_signals' AS "source", "s".*
  FROM (SELECT "crm_account_id" AS "a1_1", "company_name" AS "a2_1", "company_domain" AS "a3_1", "contact_id" AS "t1_value", "updated_at" AS "updated_at", CAST("contact_id" AS VARCHAR) AS "record_key" FROM "analytics"."stg_account_signals") AS "s"
  JOIN "analytics"."account_source_records" AS "sr" ON "sr"."source" = 'stg_account_signals' AND "sr"."record_key" = "s"."record_key"
),
-- attribute crm_account_id: most_frequent
"attr1_candidates" AS (
  SELECT "profile_id", "source", "a1_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a1_1" IS NOT NULL
),
"attr1" AS (
  SELECT "profile_id", first("value" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "value", first("source" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "source"
  FROM (SELECT "profile_id", "value", count(*) AS "value_frequency", max("updated_at") AS "value_last_seen", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source" FROM "attr1_candidates" GROUP BY "profile_id", "value") AS "counted"
  GROUP BY "profile_id"
),
-- attribute name: most_frequent
"attr2_candidates" AS (
  SELECT "profile_id", "source", "a2_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a2_1" IS NOT NULL
),
"attr2" AS (
  SELECT "profile_id", first("value" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "value", first("source" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "source"
  FROM (SELECT "profile_id", "value", count(*) AS "value_frequency", max("updated_at") AS "value_last_seen", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source" FROM "attr2_candidates" GROUP BY "profile_id", "value") AS "counted"
  GROUP BY "profile_id"
),
-- attribute domain: most_frequent
"attr3_candidates" AS (
  SELECT "profile_id", "source", "a3_1" AS "value", "updated_at", "record_key"
  FROM "src1" WHERE "a3_1" IS NOT NULL
),
"attr3" AS (
  SELECT "profile_id", first("value" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "value", first("source" ORDER BY "value_frequency" DESC, CASE WHEN "value_last_seen" IS NULL THEN 1 ELSE 0 END, "value_last_seen" DESC, "value" ASC) AS "source"
  FROM (SELECT "profile_id", "value", count(*) AS "value_frequency", max("updated_at") AS "value_last_seen", first("source" ORDER BY CASE WHEN "updated_at" IS NULL THEN 1 ELSE 0 END, "updated_at" DESC, "source" ASC, "record_key" ASC) AS "source" FROM "attr3_candidates" GROUP BY "profile_id", "value") AS "counted"
  GROUP BY "profile_id"
),
-- trait contacts: count_distinct
"trait1" AS (
  SELECT "profile_id", count(DISTINCT "t1_value") AS "value"
  FROM "src1"
  GROUP BY "profile_id"
)
SELECT
  "p"."profile_id",
  "attr1"."value" AS "crm_account_id",
  "attr2"."value" AS "name",
  "attr3"."value" AS "domain",
  COALESCE("trait1"."value", 0) AS "contacts"
FROM "analytics"."account_profiles" AS "p"
LEFT JOIN "attr1" ON "attr1"."profile_id" = "p"."profile_id"
LEFT JOIN "attr2" ON "attr2"."profile_id" = "p"."profile_id"
LEFT JOIN "attr3" ON "attr3"."profile_id" = "p"."profile_id"
LEFT JOIN "trait1" ON "trait1"."profile_id" = "p"."profile_id"
