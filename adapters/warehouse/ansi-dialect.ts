/**
 * SQL text that DuckDB and PostgreSQL spell the same way. Each adapter's dialect extends this
 * and supplies only what differs (type names, hashing). Pure: no I/O and no driver imports, so
 * `cdp compile` can load a dialect without loading a database client.
 */
import type { ColumnSpec, Dialect, DialectCapabilities, LogicalType, Relation, RelationKind, TimeUnit } from '../../src/warehouse/types.js';

export abstract class AnsiDialect implements Dialect {
  abstract readonly name: string;
  readonly capabilities: DialectCapabilities = { transactionalDdl: true, merge: true, enforcedPrimaryKeys: true };

  abstract typeName(type: LogicalType): string;
  abstract sha256(expr: string): string;
  abstract rowHash(exprs: string[]): string;
  abstract regexpMatches(expr: string, pattern: string): string;
  abstract newUuid(): string;
  abstract jsonObject(pairs: [string, string][]): string;

  regexpReplace(expr: string, pattern: string, replacement: string): string {
    return `regexp_replace(${expr}, ${pattern}, ${replacement}, 'g')`;
  }

  quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }

  relation(rel: Relation): string {
    return `${rel.catalog ? `${this.quoteIdent(rel.catalog)}.` : ''}${this.quoteIdent(rel.schema)}.${this.quoteIdent(rel.name)}`;
  }

  quoteString(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
  }

  createSchema(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quoteIdent(schema)}`;
  }

  createTableAs(rel: Relation, selectSql: string): string {
    return `CREATE TABLE ${this.relation(rel)} AS\n${trimStatement(selectSql)}\n`;
  }

  /**
   * A plain CREATE VIEW: PostgreSQL's CREATE OR REPLACE VIEW cannot drop, rename or retype
   * columns, so replacing a view whose select changed would fail there. Callers drop first.
   */
  createView(rel: Relation, selectSql: string): string {
    return `CREATE VIEW ${this.relation(rel)} AS\n${trimStatement(selectSql)}\n`;
  }

  createTable(rel: Relation, columns: ColumnSpec[]): string {
    const cols = columns.map((c) => `${this.quoteIdent(c.name)} ${this.typeName(c.type)}`).join(', ');
    return `CREATE TABLE ${this.relation(rel)} (${cols})`;
  }

  /** Never CASCADE: that would silently drop other models' views that depend on this relation. */
  drop(rel: Relation, kind: RelationKind): string {
    return `DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${this.relation(rel)}`;
  }

  rename(from: Relation, kind: RelationKind, toName: string): string {
    return `ALTER ${kind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(from)} RENAME TO ${this.quoteIdent(toName)}`;
  }

  nullSafeEquals(a: string, b: string): string {
    return `(${a} IS NOT DISTINCT FROM ${b})`;
  }

  mergeInto(target: Relation, source: Relation, keys: string[], columns: string[]): string[] {
    if (keys.length === 0) throw new Error('mergeInto needs at least one key column');
    const q = (c: string) => this.quoteIdent(c);
    const on = keys.map((k) => this.nullSafeEquals(`"dst".${q(k)}`, `"src".${q(k)}`)).join(' AND ');
    const insertCols = [...columns, ...keys.filter((k) => !columns.includes(k))];
    const updateCols = columns.filter((c) => !keys.includes(c));
    const matched = updateCols.length
      ? `UPDATE SET ${updateCols.map((c) => `${q(c)} = "src".${q(c)}`).join(', ')}`
      : 'DO NOTHING';
    return [
      `MERGE INTO ${this.relation(target)} AS "dst"\n` +
        `USING ${this.relation(source)} AS "src"\n` +
        `ON ${on}\n` +
        `WHEN MATCHED THEN ${matched}\n` +
        `WHEN NOT MATCHED THEN INSERT (${insertCols.map(q).join(', ')}) VALUES (${insertCols.map((c) => `"src".${q(c)}`).join(', ')})`,
    ];
  }

  /** A zone-less timestamp holding UTC wall time, matching `typeName('timestamp')`. */
  currentTimestamp(): string {
    return `(now() AT TIME ZONE 'UTC')`;
  }

  cast(expr: string, type: LogicalType): string {
    return `CAST(${expr} AS ${this.typeName(type)})`;
  }

  timestampMinus(expr: string, amount: number, unit: TimeUnit): string {
    // Interpolated into SQL text, so only a plain whole number may pass.
    if (!Number.isSafeInteger(amount) || amount < 0) throw new Error(`timestampMinus needs a whole number, got ${amount}`);
    return `(${expr} - INTERVAL '${amount} ${unit}')`;
  }

  /**
   * `orderBy` orders the distinct values themselves (e.g. `x DESC`): with DISTINCT, PostgreSQL
   * only allows ordering by expressions that appear in the aggregated argument.
   */
  arrayAgg(expr: string, orderBy?: string): string {
    const order = orderBy ? ` ORDER BY ${orderBy}` : '';
    return `array_agg(DISTINCT ${expr}${order}) FILTER (WHERE ${expr} IS NOT NULL)`;
  }
}

/** Strips trailing semicolons so a model's select can be embedded in DDL. */
function trimStatement(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}
