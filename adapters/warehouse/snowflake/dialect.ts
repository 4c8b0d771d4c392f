/**
 * Snowflake SQL. Pure: no driver import, so `cdp compile` can load it without snowflake-sdk.
 *
 * Identifiers are always double-quoted; plain lower-case names are quoted in their stored
 * upper-case form (see names.ts) so that quoted and unquoted spellings agree.
 * DDL is not transactional in Snowflake: every CREATE/DROP/ALTER commits the open transaction
 * and runs on its own (capabilities.transactionalDdl is false). The connection turns the core's
 * "drop, then rename/create" replacement into `ALTER TABLE ... SWAP WITH` and
 * `CREATE OR REPLACE VIEW`, which are atomic on their own (see swap.ts).
 */
import type { LogicalType, Relation, RelationKind, TimeUnit } from '../../../src/warehouse/types.js';
import { AnsiDialect } from '../ansi-dialect.js';
import { storedName } from './names.js';

const TYPE_NAMES: Record<LogicalType, string> = {
  boolean: 'BOOLEAN',
  integer: 'INTEGER',
  bigint: 'NUMBER(38, 0)',
  double: 'FLOAT',
  decimal: 'NUMBER(38, 9)',
  text: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP_NTZ',
  json: 'VARIANT',
};

export class SnowflakeDialect extends AnsiDialect {
  readonly name = 'snowflake';
  override readonly capabilities = { transactionalDdl: false, merge: true, enforcedPrimaryKeys: false };

  override quoteIdent(name: string): string {
    return `"${storedName(name).replace(/"/g, '""')}"`;
  }

  /** Snowflake reads backslash escapes in '...' literals, so backslashes are doubled too. */
  override quoteString(value: string): string {
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  }

  typeName(type: LogicalType): string {
    return TYPE_NAMES[type];
  }

  /** Snowflake only renames within a schema when the target is qualified; unqualified means the session's schema. */
  override rename(from: Relation, kind: RelationKind, toName: string): string {
    const target = this.relation({ schema: from.schema, name: toName });
    return `ALTER ${kind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(from)} RENAME TO ${target}`;
  }

  override nullSafeEquals(a: string, b: string): string {
    return `EQUAL_NULL(${a}, ${b})`;
  }

  /** Snowflake's MERGE has no `DO NOTHING`: a keys-only merge leaves out the matched branch. */
  override mergeInto(target: Relation, source: Relation, keys: string[], columns: string[]): string[] {
    if (keys.length === 0) throw new Error('mergeInto needs at least one key column');
    const q = (c: string) => this.quoteIdent(c);
    const on = keys.map((k) => this.nullSafeEquals(`"dst".${q(k)}`, `"src".${q(k)}`)).join(' AND ');
    const insertCols = [...columns, ...keys.filter((k) => !columns.includes(k))];
    const updateCols = columns.filter((c) => !keys.includes(c));
    const matched = updateCols.length ? `WHEN MATCHED THEN UPDATE SET ${updateCols.map((c) => `${q(c)} = "src".${q(c)}`).join(', ')}\n` : '';
    return [
      `MERGE INTO ${this.relation(target)} AS "dst"\n` +
        `USING ${this.relation(source)} AS "src"\n` +
        `ON ${on}\n` +
        matched +
        `WHEN NOT MATCHED THEN INSERT (${insertCols.map(q).join(', ')}) VALUES (${insertCols.map((c) => `"src".${q(c)}`).join(', ')})`,
    ];
  }

  /** SYSDATE() is the current UTC time as TIMESTAMP_NTZ, matching `typeName('timestamp')`. */
  override currentTimestamp(): string {
    return 'SYSDATE()';
  }

  sha256(expr: string): string {
    return `SHA2(${expr}, 256)`;
  }

  /** HASH is a signed 64-bit NUMBER(19, 0) over all its arguments, NULLs included. */
  rowHash(exprs: string[]): string {
    return `HASH(${exprs.join(', ')})`;
  }

  /** `json` casts parse text: CAST(text AS VARIANT) would hold a JSON string, not its value. */
  override cast(expr: string, type: LogicalType): string {
    if (type === 'json') return `PARSE_JSON(${expr})`;
    return `CAST(${expr} AS ${this.typeName(type)})`;
  }

  /** ARRAY_AGG skips NULLs itself; with DISTINCT, WITHIN GROUP may only order by the aggregated expression. */
  override arrayAgg(expr: string, orderBy?: string): string {
    return `ARRAY_AGG(DISTINCT ${expr})${orderBy ? ` WITHIN GROUP (ORDER BY ${orderBy})` : ''}`;
  }

  /** REGEXP_LIKE matches the whole string; a search (as `~` and regexp_matches do) is REGEXP_INSTR > 0. */
  regexpMatches(expr: string, pattern: string): string {
    return `(REGEXP_INSTR(${expr}, ${pattern}) > 0)`;
  }

  /** Snowflake's REGEXP_REPLACE replaces every match by default. */
  override regexpReplace(expr: string, pattern: string, replacement: string): string {
    return `REGEXP_REPLACE(${expr}, ${pattern}, ${replacement})`;
  }

  newUuid(): string {
    return 'UUID_STRING()';
  }

  override timestampMinus(expr: string, amount: number, unit: TimeUnit): string {
    if (!Number.isSafeInteger(amount) || amount < 0) throw new Error(`timestampMinus needs a whole number, got ${amount}`);
    return `DATEADD(${unit}, ${-amount}, ${expr})`;
  }

  /** KEEP_NULL keeps keys whose value is NULL, as the other warehouses' JSON objects do. */
  jsonObject(pairs: [string, string][]): string {
    return `TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL(${pairs.map(([k, v]) => `${this.quoteString(k)}, ${v}`).join(', ')}))`;
  }
}
