-- Dialect.createSchema
CREATE SCHEMA IF NOT EXISTS "ANALYTICS";

-- Dialect.createTableAs
CREATE TABLE "ANALYTICS"."ORDERS__CDP_TMP" AS
select 1 as id, 'a' as name;

-- Dialect.createView
CREATE VIEW "ANALYTICS"."ORDERS" AS
select 1 as id, 'a' as name;

-- Dialect.createTable
CREATE TABLE "ANALYTICS"."ORDERS__CDP_TMP" ("C_BOOLEAN" BOOLEAN, "C_INTEGER" INTEGER, "C_BIGINT" NUMBER(38, 0), "C_DOUBLE" FLOAT, "C_DECIMAL" NUMBER(38, 9), "C_TEXT" VARCHAR, "C_DATE" DATE, "C_TIMESTAMP" TIMESTAMP_NTZ, "C_JSON" VARIANT);

-- Dialect.drop
DROP TABLE IF EXISTS "ANALYTICS"."ORDERS";

-- Dialect.drop
DROP VIEW IF EXISTS "ANALYTICS"."ORDERS";

-- Dialect.rename
ALTER TABLE "ANALYTICS"."ORDERS__CDP_TMP" RENAME TO "ANALYTICS"."ORDERS";

-- Dialect.mergeInto
MERGE INTO "ANALYTICS"."ORDERS" AS "dst"
USING "ANALYTICS"."ORDERS__CDP_TMP" AS "src"
ON EQUAL_NULL("dst"."ID", "src"."ID")
WHEN MATCHED THEN UPDATE SET "NAME" = "src"."NAME", "AMOUNT" = "src"."AMOUNT"
WHEN NOT MATCHED THEN INSERT ("ID", "NAME", "AMOUNT") VALUES ("src"."ID", "src"."NAME", "src"."AMOUNT");

-- Dialect.mergeInto
MERGE INTO "ANALYTICS"."ORDERS" AS "dst"
USING "ANALYTICS"."ORDERS__CDP_TMP" AS "src"
ON EQUAL_NULL("dst"."ID", "src"."ID") AND EQUAL_NULL("dst"."DAY", "src"."DAY")
WHEN MATCHED THEN UPDATE SET "AMOUNT" = "src"."AMOUNT"
WHEN NOT MATCHED THEN INSERT ("ID", "DAY", "AMOUNT") VALUES ("src"."ID", "src"."DAY", "src"."AMOUNT");

-- Dialect.mergeInto
MERGE INTO "ANALYTICS"."ORDERS" AS "dst"
USING "ANALYTICS"."ORDERS__CDP_TMP" AS "src"
ON EQUAL_NULL("dst"."ID", "src"."ID")
WHEN NOT MATCHED THEN INSERT ("ID") VALUES ("src"."ID");

-- Dialect.currentTimestamp
select SYSDATE() as v from "ANALYTICS"."ORDERS";

-- Dialect.sha256
select SHA2("NAME", 256) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(boolean)
select CAST("NAME" AS BOOLEAN) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(integer)
select CAST("NAME" AS INTEGER) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(bigint)
select CAST("NAME" AS NUMBER(38, 0)) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(double)
select CAST("NAME" AS FLOAT) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(decimal)
select CAST("NAME" AS NUMBER(38, 9)) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(text)
select CAST("NAME" AS VARCHAR) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(date)
select CAST("NAME" AS DATE) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(timestamp)
select CAST("NAME" AS TIMESTAMP_NTZ) as v from "ANALYTICS"."ORDERS";

-- Dialect.cast(json)
select PARSE_JSON('{"a": 1}') as v from "ANALYTICS"."ORDERS";

-- Dialect.arrayAgg
select "ID", ARRAY_AGG(DISTINCT "NAME") WITHIN GROUP (ORDER BY "NAME") as v from "ANALYTICS"."ORDERS" group by "ID";

-- Dialect.arrayAgg
select "ID", ARRAY_AGG(DISTINCT "NAME") as v from "ANALYTICS"."ORDERS" group by "ID";

-- Dialect.regexpMatches
select (REGEXP_INSTR("NAME", '^[a-z]+$') > 0) as v from "ANALYTICS"."ORDERS";

-- Dialect.regexpReplace
select REGEXP_REPLACE("NAME", '[^0-9]', '') as v from "ANALYTICS"."ORDERS";

-- Dialect.newUuid
select UUID_STRING() as v from "ANALYTICS"."ORDERS";

-- Dialect.timestampMinus(minute)
select DATEADD(minute, -3, SYSDATE()) as v from "ANALYTICS"."ORDERS";

-- Dialect.timestampMinus(hour)
select DATEADD(hour, -3, SYSDATE()) as v from "ANALYTICS"."ORDERS";

-- Dialect.timestampMinus(day)
select DATEADD(day, -3, SYSDATE()) as v from "ANALYTICS"."ORDERS";

-- Dialect.timestampMinus(week)
select DATEADD(week, -3, SYSDATE()) as v from "ANALYTICS"."ORDERS";

-- Dialect.timestampMinus(month)
select DATEADD(month, -3, SYSDATE()) as v from "ANALYTICS"."ORDERS";

-- Dialect.timestampMinus(year)
select DATEADD(year, -3, SYSDATE()) as v from "ANALYTICS"."ORDERS";

-- Dialect.jsonObject
select TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('email', "NAME", 'first name', CAST("ID" AS VARCHAR))) as v from "ANALYTICS"."ORDERS";

-- Dialect.nullSafeEquals
select 1 as v from "ANALYTICS"."ORDERS" as a join "ANALYTICS"."ORDERS" as b on EQUAL_NULL(a.id, b.id);

-- Dialect.quoteString
select 'it''s a \\ test
line' as v;

-- Dialect.quoteIdent
select 1 as "SELECT", 2 as "first name";
