-- Dialect.createSchema
CREATE SCHEMA IF NOT EXISTS "analytics";

-- Dialect.createTableAs
CREATE TABLE "analytics"."orders__cdp_tmp" AS
select 1 as id, 'a' as name;

-- Dialect.createView
CREATE VIEW "analytics"."orders" AS
select 1 as id, 'a' as name;

-- Dialect.createTable
CREATE TABLE "analytics"."orders__cdp_tmp" ("c_boolean" BOOLEAN, "c_integer" INTEGER, "c_bigint" BIGINT, "c_double" DOUBLE, "c_decimal" DECIMAL(38, 9), "c_text" VARCHAR, "c_date" DATE, "c_timestamp" TIMESTAMP, "c_json" JSON);

-- Dialect.drop
DROP TABLE IF EXISTS "analytics"."orders";

-- Dialect.drop
DROP VIEW IF EXISTS "analytics"."orders";

-- Dialect.rename
ALTER TABLE "analytics"."orders__cdp_tmp" RENAME TO "orders";

-- Dialect.mergeInto
MERGE INTO "analytics"."orders" AS "dst"
USING "analytics"."orders__cdp_tmp" AS "src"
ON ("dst"."id" IS NOT DISTINCT FROM "src"."id")
WHEN MATCHED THEN UPDATE SET "name" = "src"."name", "amount" = "src"."amount"
WHEN NOT MATCHED THEN INSERT ("id", "name", "amount") VALUES ("src"."id", "src"."name", "src"."amount");

-- Dialect.mergeInto
MERGE INTO "analytics"."orders" AS "dst"
USING "analytics"."orders__cdp_tmp" AS "src"
ON ("dst"."id" IS NOT DISTINCT FROM "src"."id") AND ("dst"."day" IS NOT DISTINCT FROM "src"."day")
WHEN MATCHED THEN UPDATE SET "amount" = "src"."amount"
WHEN NOT MATCHED THEN INSERT ("id", "day", "amount") VALUES ("src"."id", "src"."day", "src"."amount");

-- Dialect.mergeInto
MERGE INTO "analytics"."orders" AS "dst"
USING "analytics"."orders__cdp_tmp" AS "src"
ON ("dst"."id" IS NOT DISTINCT FROM "src"."id")
WHEN MATCHED THEN DO NOTHING
WHEN NOT MATCHED THEN INSERT ("id") VALUES ("src"."id");

-- Dialect.currentTimestamp
select (now() AT TIME ZONE 'UTC') as v from "analytics"."orders";

-- Dialect.sha256
select sha256("name") as v from "analytics"."orders";

-- Dialect.cast(boolean)
select CAST("name" AS BOOLEAN) as v from "analytics"."orders";

-- Dialect.cast(integer)
select CAST("name" AS INTEGER) as v from "analytics"."orders";

-- Dialect.cast(bigint)
select CAST("name" AS BIGINT) as v from "analytics"."orders";

-- Dialect.cast(double)
select CAST("name" AS DOUBLE) as v from "analytics"."orders";

-- Dialect.cast(decimal)
select CAST("name" AS DECIMAL(38, 9)) as v from "analytics"."orders";

-- Dialect.cast(text)
select CAST("name" AS VARCHAR) as v from "analytics"."orders";

-- Dialect.cast(date)
select CAST("name" AS DATE) as v from "analytics"."orders";

-- Dialect.cast(timestamp)
select CAST("name" AS TIMESTAMP) as v from "analytics"."orders";

-- Dialect.cast(json)
select CAST('{"a": 1}' AS JSON) as v from "analytics"."orders";

-- Dialect.arrayAgg
select "id", CASE WHEN count("name") = 0 THEN NULL ELSE list_sort(list_distinct(list("name"))) END as v from "analytics"."orders" group by "id";

-- Dialect.arrayAgg
select "id", CASE WHEN count("name") = 0 THEN NULL ELSE list_distinct(list("name")) END as v from "analytics"."orders" group by "id";

-- Dialect.regexpMatches
select regexp_matches("name", '^[a-z]+$') as v from "analytics"."orders";

-- Dialect.regexpReplace
select regexp_replace("name", '[^0-9]', '', 'g') as v from "analytics"."orders";

-- Dialect.newUuid
select CAST(uuid() AS VARCHAR) as v from "analytics"."orders";

-- Dialect.timestampMinus(minute)
select ((now() AT TIME ZONE 'UTC') - INTERVAL '3 minute') as v from "analytics"."orders";

-- Dialect.timestampMinus(hour)
select ((now() AT TIME ZONE 'UTC') - INTERVAL '3 hour') as v from "analytics"."orders";

-- Dialect.timestampMinus(day)
select ((now() AT TIME ZONE 'UTC') - INTERVAL '3 day') as v from "analytics"."orders";

-- Dialect.timestampMinus(week)
select ((now() AT TIME ZONE 'UTC') - INTERVAL '3 week') as v from "analytics"."orders";

-- Dialect.timestampMinus(month)
select ((now() AT TIME ZONE 'UTC') - INTERVAL '3 month') as v from "analytics"."orders";

-- Dialect.timestampMinus(year)
select ((now() AT TIME ZONE 'UTC') - INTERVAL '3 year') as v from "analytics"."orders";

-- Dialect.jsonObject
select CASE WHEN position('NaN' IN CAST(json_object('email', "name", 'first name', CAST("id" AS VARCHAR)) AS VARCHAR)) > 0 OR position('Infinity' IN CAST(json_object('email', "name", 'first name', CAST("id" AS VARCHAR)) AS VARCHAR)) > 0 THEN regexp_replace(CAST(json_object('email', "name", 'first name', CAST("id" AS VARCHAR)) AS VARCHAR), '([^\\]":)(-?Infinity|NaN)([,}])', '\1null\3', 'g') ELSE CAST(json_object('email', "name", 'first name', CAST("id" AS VARCHAR)) AS VARCHAR) END as v from "analytics"."orders";

-- Dialect.nullSafeEquals
select 1 as v from "analytics"."orders" as a join "analytics"."orders" as b on (a.id IS NOT DISTINCT FROM b.id);

-- Dialect.quoteString
select 'it''s a \ test
line' as v;

-- Dialect.quoteIdent
select 1 as "select", 2 as "first name";
