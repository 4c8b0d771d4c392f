import type { LogicalType } from '../../../src/warehouse/types.js';
import { AnsiDialect } from '../ansi-dialect.js';

const TYPE_NAMES: Record<LogicalType, string> = {
  boolean: 'BOOLEAN',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  // DuckDB's bare DECIMAL is DECIMAL(18,3), which silently rounds; 38 digits is the widest.
  decimal: 'DECIMAL(38, 9)',
  text: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

export class DuckDbDialect extends AnsiDialect {
  readonly name = 'duckdb';

  typeName(type: LogicalType): string {
    return TYPE_NAMES[type];
  }

  sha256(expr: string): string {
    return `sha256(${expr})`;
  }

  /** hash() is a UBIGINT; dropping its lowest bit makes it fit a BIGINT. */
  rowHash(exprs: string[]): string {
    // hash() of a value's own type collides where the payload differs: a NULL list, [] and
    // [NULL] hash alike, as do 0, false and 0.0. Their text differs, as the payload does (and
    // casting text to text costs nothing).
    return `CAST(hash(${exprs.map((e) => `CAST(${e} AS VARCHAR)`).join(', ')}) >> 1 AS BIGINT)`;
  }

  regexpMatches(expr: string, pattern: string): string {
    return `regexp_matches(${expr}, ${pattern})`;
  }

  newUuid(): string {
    return 'CAST(uuid() AS VARCHAR)';
  }

  override arrayAgg(expr: string, orderBy?: string): string {
    // DuckDB's DISTINCT ... ORDER BY aggregate costs about three times a plain list that is then
    // deduplicated and sorted (list_distinct also drops NULLs). A group without values gives
    // NULL, as the aggregate does.
    if (orderBy !== undefined && orderBy !== expr) return super.arrayAgg(expr, orderBy);
    const distinct = `list_distinct(list(${expr}))`;
    return `CASE WHEN count(${expr}) = 0 THEN NULL ELSE ${orderBy === undefined ? distinct : `list_sort(${distinct})`} END`;
  }

  readonly rowPosition = 'rowid';

  firstByOrder(expr: string, orderBy: string): string {
    return `first(${expr} ORDER BY ${orderBy})`;
  }

  jsonObject(pairs: [string, string][]): string {
    const json = `CAST(json_object(${pairs.map(([k, v]) => `${this.quoteString(k)}, ${v}`).join(', ')}) AS VARCHAR)`;
    // DuckDB writes a non-finite double as a bare NaN or Infinity, which is not JSON (and its
    // own json_valid accepts it): such a member becomes null, as in JSON.stringify. The pattern
    // needs the key's closing quote before the colon, so text inside string values is left
    // alone; the cheap position() test keeps the regex off ordinary rows.
    return `CASE WHEN position('NaN' IN ${json}) > 0 OR position('Infinity' IN ${json}) > 0 ` +
      `THEN regexp_replace(${json}, '([^\\\\]":)(-?Infinity|NaN)([,}])', '\\1null\\3', 'g') ELSE ${json} END`;
  }
}
