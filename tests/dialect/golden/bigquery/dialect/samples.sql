-- Dialect.createSchema
CREATE SCHEMA IF NOT EXISTS `analytics`;

-- Dialect.createTableAs
CREATE TABLE `analytics.orders__cdp_tmp` AS
select 1 as id, 'a' as name;

-- Dialect.createView
CREATE VIEW `analytics.orders` AS
select 1 as id, 'a' as name;

-- Dialect.createTable
CREATE TABLE `analytics.orders__cdp_tmp` (`c_boolean` BOOL, `c_integer` INT64, `c_bigint` INT64, `c_double` FLOAT64, `c_decimal` NUMERIC, `c_text` STRING, `c_date` DATE, `c_timestamp` TIMESTAMP, `c_json` JSON);

-- Dialect.drop
DROP TABLE IF EXISTS `analytics.orders`;

-- Dialect.drop
DROP VIEW IF EXISTS `analytics.orders`;

-- Dialect.rename
ALTER TABLE `analytics.orders__cdp_tmp` RENAME TO `orders`;

-- Dialect.mergeInto
MERGE `analytics.orders` AS dst
USING `analytics.orders__cdp_tmp` AS src
ON (dst.`id` IS NOT DISTINCT FROM src.`id`)
WHEN MATCHED THEN UPDATE SET `name` = src.`name`, `amount` = src.`amount`
WHEN NOT MATCHED THEN INSERT (`id`, `name`, `amount`) VALUES (src.`id`, src.`name`, src.`amount`);

-- Dialect.mergeInto
MERGE `analytics.orders` AS dst
USING `analytics.orders__cdp_tmp` AS src
ON (dst.`id` IS NOT DISTINCT FROM src.`id`) AND (dst.`day` IS NOT DISTINCT FROM src.`day`)
WHEN MATCHED THEN UPDATE SET `amount` = src.`amount`
WHEN NOT MATCHED THEN INSERT (`id`, `day`, `amount`) VALUES (src.`id`, src.`day`, src.`amount`);

-- Dialect.mergeInto
MERGE `analytics.orders` AS dst
USING `analytics.orders__cdp_tmp` AS src
ON (dst.`id` IS NOT DISTINCT FROM src.`id`)
WHEN NOT MATCHED THEN INSERT (`id`) VALUES (src.`id`);

-- Dialect.currentTimestamp
select CURRENT_TIMESTAMP() as v from `analytics.orders`;

-- Dialect.sha256
select TO_HEX(SHA256(`name`)) as v from `analytics.orders`;

-- Dialect.cast(boolean)
select CAST(`name` AS BOOL) as v from `analytics.orders`;

-- Dialect.cast(integer)
select CAST(`name` AS INT64) as v from `analytics.orders`;

-- Dialect.cast(bigint)
select CAST(`name` AS INT64) as v from `analytics.orders`;

-- Dialect.cast(double)
select CAST(`name` AS FLOAT64) as v from `analytics.orders`;

-- Dialect.cast(decimal)
select CAST(`name` AS NUMERIC) as v from `analytics.orders`;

-- Dialect.cast(text)
select CAST(`name` AS STRING) as v from `analytics.orders`;

-- Dialect.cast(date)
select CAST(`name` AS DATE) as v from `analytics.orders`;

-- Dialect.cast(timestamp)
select CAST(`name` AS TIMESTAMP) as v from `analytics.orders`;

-- Dialect.cast(json)
select PARSE_JSON('{"a": 1}') as v from `analytics.orders`;

-- Dialect.arrayAgg
select `id`, ARRAY_AGG(DISTINCT `name` IGNORE NULLS ORDER BY `name`) as v from `analytics.orders` group by `id`;

-- Dialect.arrayAgg
select `id`, ARRAY_AGG(DISTINCT `name` IGNORE NULLS) as v from `analytics.orders` group by `id`;

-- Dialect.regexpMatches
select REGEXP_CONTAINS(`name`, '^[a-z]+$') as v from `analytics.orders`;

-- Dialect.regexpReplace
select REGEXP_REPLACE(`name`, '[^0-9]', '') as v from `analytics.orders`;

-- Dialect.newUuid
select GENERATE_UUID() as v from `analytics.orders`;

-- Dialect.timestampMinus(minute)
select TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 3 MINUTE) as v from `analytics.orders`;

-- Dialect.timestampMinus(hour)
select TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 3 HOUR) as v from `analytics.orders`;

-- Dialect.timestampMinus(day)
select TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 3 DAY) as v from `analytics.orders`;

-- Dialect.timestampMinus(week)
select TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 21 DAY) as v from `analytics.orders`;

-- Dialect.timestampMinus(month)
select TIMESTAMP(DATETIME_SUB(DATETIME(CURRENT_TIMESTAMP()), INTERVAL 3 MONTH)) as v from `analytics.orders`;

-- Dialect.timestampMinus(year)
select TIMESTAMP(DATETIME_SUB(DATETIME(CURRENT_TIMESTAMP()), INTERVAL 3 YEAR)) as v from `analytics.orders`;

-- Dialect.jsonObject
select TO_JSON_STRING(STRUCT(`name` AS `email`, CAST(`id` AS STRING) AS `first name`)) as v from `analytics.orders`;

-- Dialect.nullSafeEquals
select 1 as v from `analytics.orders` as a join `analytics.orders` as b on (a.id IS NOT DISTINCT FROM b.id);

-- Dialect.quoteString
select 'it\'s a \\ test\nline' as v;

-- Dialect.quoteIdent
select 1 as `select`, 2 as `first name`;
