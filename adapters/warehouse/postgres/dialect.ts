import type { LogicalType, Relation } from '../../../src/warehouse/types.js';
import { AnsiDialect } from '../ansi-dialect.js';

const TYPE_NAMES: Record<LogicalType, string> = {
  boolean: 'boolean',
  integer: 'integer',
  bigint: 'bigint',
  double: 'double precision',
  decimal: 'numeric',
  text: 'text',
  date: 'date',
  timestamp: 'timestamp',
  // jsonb, unlike json, has an equality operator, so it works in DISTINCT, GROUP BY and MERGE keys.
  json: 'jsonb',
};

export class PostgresDialect extends AnsiDialect {
  readonly name = 'postgres';
  override readonly capabilities = { transactionalDdl: true, merge: true, enforcedPrimaryKeys: true, keyIndexes: true };

  typeName(type: LogicalType): string {
    return TYPE_NAMES[type];
  }

  /**
   * PostgreSQL plans `IS NOT DISTINCT FROM` join conditions as nested loops, which makes a
   * NULL-safe MERGE quadratic. Instead: first delete the target rows whose key has a NULL
   * part and that a source row matches NULL-safely (few rows, filtered before the join), then
   * MERGE on plain equality, which hashes. Source rows with NULL key parts then fall into the
   * insert branch and replace the deleted rows. Both statements run in one transaction.
   */
  mergeInto(target: Relation, source: Relation, keys: string[], columns: string[]): string[] {
    // With nothing to update, matched rows must stay untouched: deleting them would lose
    // their other columns, so keys-only merges keep the plain NULL-safe form.
    if (columns.every((c) => keys.includes(c))) return super.mergeInto(target, source, keys, columns);
    const q = (c: string) => this.quoteIdent(c);
    const anyNull = keys.map((k) => `"dst".${q(k)} IS NULL`).join(' OR ');
    const nullSafe = keys.map((k) => this.nullSafeEquals(`"dst".${q(k)}`, `"src".${q(k)}`)).join(' AND ');
    const deleteNullKeyed =
      `DELETE FROM ${this.relation(target)} AS "dst"
` +
      `WHERE (${anyNull}) AND EXISTS (SELECT 1 FROM ${this.relation(source)} AS "src" WHERE ${nullSafe})`;
    const equalKeys = keys.map((k) => `"dst".${q(k)} = "src".${q(k)}`).join(' AND ');
    const [merge] = super.mergeInto(target, source, keys, columns);
    return [deleteNullKeyed, merge.replace(/\nON .*\n/, `\nON ${equalKeys}\n`)];
  }

  regexpMatches(expr: string, pattern: string): string {
    return `(${expr} ~ ${pattern})`;
  }

  newUuid(): string {
    return 'CAST(gen_random_uuid() AS text)';
  }

  jsonObject(pairs: [string, string][]): string {
    return `CAST(json_build_object(${pairs.map(([k, v]) => `${this.quoteString(k)}, ${v}`).join(', ')}) AS text)`;
  }

  /** A row's text form quotes and separates its values, so distinct rows give distinct text. */
  rowHash(exprs: string[]): string {
    return `hashtextextended(CAST(ROW(${exprs.join(', ')}) AS text), 0)`;
  }

  sha256(expr: string): string {
    return `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
  }
}
