/**
 * BigQuery Standard SQL (GoogleSQL). A relation's schema is a dataset; the project comes from
 * the connection (the job's project), so generated SQL never names it and compiles without
 * connecting. Pure: no I/O and no client imports.
 */
import type { ColumnSpec, Dialect, DialectCapabilities, LogicalType, Relation, RelationKind, TimeUnit } from '../../../src/warehouse/types.js';

const TYPE_NAMES: Record<LogicalType, string> = {
  boolean: 'BOOL',
  integer: 'INT64',
  bigint: 'INT64',
  double: 'FLOAT64',
  // NUMERIC is exactly DECIMAL(38, 9), the same precision the other adapters use.
  decimal: 'NUMERIC',
  text: 'STRING',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

/** Parts that may sit unescaped inside one pair of backticks: `dataset.table`. */
const PLAIN_PART = /^[A-Za-z0-9_]+$/;

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\f': '\\f', '\v': '\\v' };

export class BigQueryDialect implements Dialect {
  readonly name = 'bigquery';
  /**
   * BigQuery transactions cover DML only: DDL on permanent tables and datasets (CREATE, DROP,
   * ALTER ... RENAME) is rejected inside BEGIN TRANSACTION, so swaps cannot roll back.
   */
  readonly capabilities: DialectCapabilities = { transactionalDdl: false, merge: true, enforcedPrimaryKeys: false };

  quoteIdent(name: string): string {
    return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
  }

  relation(rel: Relation): string {
    if (PLAIN_PART.test(rel.schema) && PLAIN_PART.test(rel.name)) return `\`${rel.schema}.${rel.name}\``;
    return `${this.quoteIdent(rel.schema)}.${this.quoteIdent(rel.name)}`;
  }

  /** Single-quoted with backslash escapes; a raw newline is not allowed in a one-line literal. */
  quoteString(value: string): string {
    // A BigQuery quoted string may not hold a raw newline; the other control characters are escaped too, for readability.
    const escaped = value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/[\n\r\t\f\v]/g, (c) => CONTROL_ESCAPES[c]!);
    return `'${escaped}'`;
  }

  typeName(type: LogicalType): string {
    return TYPE_NAMES[type];
  }

  /** The dataset is created in the job's location (the target's `location`). */
  createSchema(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quoteIdent(schema)}`;
  }

  createTableAs(rel: Relation, selectSql: string): string {
    return `CREATE TABLE ${this.relation(rel)} AS\n${trimStatement(selectSql)}\n`;
  }

  createView(rel: Relation, selectSql: string): string {
    return `CREATE VIEW ${this.relation(rel)} AS\n${trimStatement(selectSql)}\n`;
  }

  createTable(rel: Relation, columns: ColumnSpec[]): string {
    const cols = columns.map((c) => `${this.quoteIdent(c.name)} ${this.typeName(c.type)}`).join(', ');
    return `CREATE TABLE ${this.relation(rel)} (${cols})`;
  }

  drop(rel: Relation, kind: RelationKind): string {
    return `DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${this.relation(rel)}`;
  }

  /**
   * BigQuery renames tables with ALTER TABLE; it has no ALTER VIEW ... RENAME, so a view
   * "rename" fails on the server with BigQuery's own message rather than here: the text is
   * still generated so `cdp compile` can show it.
   */
  rename(from: Relation, kind: RelationKind, toName: string): string {
    return `ALTER ${kind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(from)} RENAME TO ${this.quoteIdent(toName)}`;
  }

  nullSafeEquals(a: string, b: string): string {
    return `(${a} IS NOT DISTINCT FROM ${b})`;
  }

  /**
   * One MERGE statement. BigQuery has no `DO NOTHING`: a keys-only merge simply leaves out
   * the WHEN MATCHED clause, so matched rows stay untouched.
   */
  mergeInto(target: Relation, source: Relation, keys: string[], columns: string[]): string[] {
    if (keys.length === 0) throw new Error('mergeInto needs at least one key column');
    const q = (c: string) => this.quoteIdent(c);
    const on = keys.map((k) => this.nullSafeEquals(`dst.${q(k)}`, `src.${q(k)}`)).join(' AND ');
    const insertCols = [...columns, ...keys.filter((k) => !columns.includes(k))];
    const updateCols = columns.filter((c) => !keys.includes(c));
    const matched = updateCols.length ? `WHEN MATCHED THEN UPDATE SET ${updateCols.map((c) => `${q(c)} = src.${q(c)}`).join(', ')}\n` : '';
    return [
      `MERGE ${this.relation(target)} AS dst\n` +
        `USING ${this.relation(source)} AS src\n` +
        `ON ${on}\n` +
        matched +
        `WHEN NOT MATCHED THEN INSERT (${insertCols.map(q).join(', ')}) VALUES (${insertCols.map((c) => `src.${q(c)}`).join(', ')})`,
    ];
  }

  currentTimestamp(): string {
    return 'CURRENT_TIMESTAMP()';
  }

  /** SHA256 of a STRING hashes its UTF-8 bytes, like the other adapters. */
  sha256(expr: string): string {
    return `TO_HEX(SHA256(${expr}))`;
  }

  /** The values go through JSON text, which quotes and separates them; field names make it one value per expression. */
  rowHash(exprs: string[]): string {
    return `FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(${exprs.map((e, i) => `${e} AS c${i}`).join(', ')})))`;
  }

  /** BigQuery cannot CAST text to JSON; PARSE_JSON is its conversion. */
  cast(expr: string, type: LogicalType): string {
    if (type === 'json') return `PARSE_JSON(${expr})`;
    return `CAST(${expr} AS ${this.typeName(type)})`;
  }

  /** With DISTINCT, BigQuery (like PostgreSQL) only orders by the aggregated expression itself. */
  arrayAgg(expr: string, orderBy?: string): string {
    const order = orderBy ? ` ORDER BY ${orderBy}` : '';
    return `ARRAY_AGG(DISTINCT ${expr} IGNORE NULLS${order})`;
  }

  regexpMatches(expr: string, pattern: string): string {
    return `REGEXP_CONTAINS(${expr}, ${pattern})`;
  }

  /** REGEXP_REPLACE replaces every match already; there is no flags argument. */
  regexpReplace(expr: string, pattern: string, replacement: string): string {
    return `REGEXP_REPLACE(${expr}, ${pattern}, ${replacement})`;
  }

  newUuid(): string {
    return 'GENERATE_UUID()';
  }

  /**
   * TIMESTAMP_SUB takes units up to DAY. Weeks are whole days; months and years depend on the
   * calendar, so they go through DATETIME (UTC wall time) and back.
   */
  timestampMinus(expr: string, amount: number, unit: TimeUnit): string {
    // Interpolated into SQL text, so only a plain whole number may pass.
    if (!Number.isSafeInteger(amount) || amount < 0) throw new Error(`timestampMinus needs a whole number, got ${amount}`);
    switch (unit) {
      case 'week':
        return `TIMESTAMP_SUB(${expr}, INTERVAL ${amount * 7} DAY)`;
      case 'month':
      case 'year':
        return `TIMESTAMP(DATETIME_SUB(DATETIME(${expr}), INTERVAL ${amount} ${unit.toUpperCase()}))`;
      default:
        return `TIMESTAMP_SUB(${expr}, INTERVAL ${amount} ${unit.toUpperCase()})`;
    }
  }

  /** STRUCT field names become the JSON keys, in order; backticks allow any key text. */
  jsonObject(pairs: [string, string][]): string {
    return `TO_JSON_STRING(STRUCT(${pairs.map(([k, v]) => `${v} AS ${this.quoteIdent(k)}`).join(', ')}))`;
  }
}

/** Strips trailing semicolons so a model's select can be embedded in DDL. */
function trimStatement(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}
