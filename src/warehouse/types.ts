/**
 * The warehouse boundary. The core talks only to these interfaces; adapters under
 * `adapters/warehouse/*` implement them. A warehouse is an execution client (Connection)
 * plus a Dialect that generates SQL text for it, so generated SQL can be tested without
 * connecting and the core never branches on the warehouse type.
 */

/** A schema-qualified table or view name, unquoted. */
export interface Relation {
  schema: string;
  name: string;
  /** The database holding `schema`, when not the connection's own (see `scratchCatalog`). */
  catalog?: string;
}

export type RelationKind = 'table' | 'view';

export interface RelationInfo extends Relation {
  kind: RelationKind;
}

/** Portable column types. Adapters map them to their own type names. */
export type LogicalType = 'boolean' | 'integer' | 'bigint' | 'double' | 'decimal' | 'text' | 'date' | 'timestamp' | 'json';

/** Units of relative time windows (segments' `within_last`, `older_than`). */
export type TimeUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

export interface ColumnInfo {
  name: string;
  /** The warehouse's own type name, as it reports it (e.g. `BIGINT`, `character varying`). */
  dataType: string;
}

export interface ColumnSpec {
  name: string;
  type: LogicalType;
}

/**
 * Result values are normalised to the same JS types on every adapter:
 * integers -> number (bigint only beyond 2^53), numeric/decimal/double -> number,
 * text -> string, boolean -> boolean, date -> 'YYYY-MM-DD' string,
 * timestamp(tz) -> Date (UTC), json/list/struct -> plain JS values, NULL -> null.
 */
export type Row = Record<string, unknown>;

/** Statements and queries; positional parameters are written `$1`, `$2`, ... on every adapter. */
export interface Executor {
  execute(sql: string, params?: unknown[]): Promise<void>;
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Connection extends Executor {
  /** Streams rows in batches with bounded memory. */
  stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize?: number): AsyncIterable<T[]>;
  /**
   * Loads rows into an existing table through the warehouse's bulk path (appender, COPY, load job).
   * Each row is an array in `columns` order. Returns the number of rows loaded.
   */
  bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number>;
  /** Runs `fn` in one transaction on one session; rolls back if it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  relations(schema: string): Promise<RelationInfo[]>;
  columns(relation: Relation): Promise<ColumnInfo[]>;
  /**
   * Views that depend on `relation`, in an order in which they can be re-created. Only
   * warehouses that bind views to objects rather than names (PostgreSQL) implement it: there,
   * replacing a table must drop and re-create its dependent views in the same transaction.
   */
  dependentViews?(relation: Relation): Promise<{ relation: Relation; definition: string }[]>;
  /**
   * Optional columnar path for integer-only work (identity components), where building a row
   * object per value costs more than the work. Streams a query's columns, cast to 32-bit
   * integers, one `Int32Array` per column per batch; a NULL is an error.
   */
  streamInt32?(sql: string): AsyncIterable<Int32Array[]>;
  /**
   * Optional: a database, not persisted, for a run's scratch tables (tables dropped before the
   * run ends); relations in it name it as their `catalog`, with the schema `main`. DuckDB
   * writes text into a persistent file at several times the cost of an in-memory table.
   */
  scratchCatalog?(): Promise<string>;
  /** Optional: appends batches of equal-length integer columns, in table column order, to an existing table. Returns the row count. */
  appendInt32?(table: Relation, batches: AsyncIterable<Int32Array[]>): Promise<number>;
  close(): Promise<void>;
}

export interface DialectCapabilities {
  /** DDL (CREATE/DROP/ALTER ... RENAME) can run inside a transaction and roll back. */
  transactionalDdl: boolean;
  /** `MERGE INTO` is available. */
  merge: boolean;
  /** PRIMARY KEY constraints are enforced (not on BigQuery or Snowflake, where they are declarations only). */
  enforcedPrimaryKeys: boolean;
  /**
   * An index on a key makes keyed deletes from a large table cheaper (row stores). Unset where
   * it only adds cost: DuckDB's ART index makes inserts and checkpoints several times slower.
   */
  keyIndexes?: boolean;
}

/**
 * Generates SQL text for one warehouse. Pure: no I/O.
 */
export interface Dialect {
  readonly name: string;
  readonly capabilities: DialectCapabilities;
  quoteIdent(name: string): string;
  /** Fully qualified, quoted relation name. */
  relation(rel: Relation): string;
  quoteString(value: string): string;
  typeName(type: LogicalType): string;
  createSchema(schema: string): string;
  createTableAs(rel: Relation, selectSql: string): string;
  createView(rel: Relation, selectSql: string): string;
  createTable(rel: Relation, columns: ColumnSpec[]): string;
  drop(rel: Relation, kind: RelationKind): string;
  /** Renames `from` to `toName` within the same schema. */
  rename(from: Relation, kind: RelationKind, toName: string): string;
  /** `a` equals `b`, treating two NULLs as equal. */
  nullSafeEquals(a: string, b: string): string;
  /**
   * Upserts `source` into `target` on `keys` (NULL-safe): matched rows get every column of
   * `columns` updated, unmatched rows are inserted. Returns statements to run in one transaction.
   */
  mergeInto(target: Relation, source: Relation, keys: string[], columns: string[]): string[];
  /** Current UTC timestamp expression. */
  currentTimestamp(): string;
  /** Hex SHA-256 of a text expression. */
  sha256(expr: string): string;
  /**
   * A BIGINT hash of several expressions together, for change detection only: cheap, not
   * cryptographic, stable within one warehouse version. NULLs hash to a value, and moving a
   * value between expressions (`'ab', 'c'` against `'a', 'bc'`) changes the hash.
   */
  rowHash(exprs: string[]): string;
  /** Casts an expression to a logical type. */
  cast(expr: string, type: LogicalType): string;
  /** Aggregates the distinct non-null values of `expr` into a list/array. */
  arrayAgg(expr: string, orderBy?: string): string;
  /** True when `expr` matches the regular expression `pattern` (a SQL string literal). */
  regexpMatches(expr: string, pattern: string): string;
  /** Replaces every match of `pattern` in `expr` (both literals or expressions). */
  regexpReplace(expr: string, pattern: string, replacement: string): string;
  /** A new random UUID as text: profile IDs that carry no PII. */
  newUuid(): string;
  /** A timestamp expression minus a whole number of units (relative windows such as "the last 30 days"). */
  timestampMinus(expr: string, amount: number, unit: TimeUnit): string;
  /** A JSON object (as text) from [key, SQL expression] pairs, keys in the given order. */
  jsonObject(pairs: [string, string][]): string;
  /**
   * Optional: an aggregate giving `expr` of the first row of the group in `orderBy` (a complete
   * ORDER BY list). Where it is missing, callers rank rows with `row_number()` instead; DuckDB
   * sorts for an ordered aggregate at under half the cost of that window.
   */
  firstByOrder?(expr: string, orderBy: string): string;
  /**
   * Optional: the 0-based position of a row (as SQL) in a table written by one CREATE TABLE AS
   * and never changed since, where the warehouse keeps one (DuckDB's `rowid`). It numbers rows
   * without `row_number() over ()`, which runs on one thread.
   */
  readonly rowPosition?: string;
}

export interface Warehouse extends Connection {
  readonly dialect: Dialect;
  /** The target's type, e.g. `duckdb`. Used for display only; the core must branch on capabilities. */
  readonly type: string;
  /** Checks connectivity and returns the warehouse's version string. */
  ping(): Promise<string>;
  /** The same connection, tagging its jobs or queries (BigQuery job labels, Snowflake query tags) for cost attribution. */
  withLabels?(labels: Record<string, string>): Warehouse;
  /** Bytes a query would process, without running it (BigQuery dry-run jobs). */
  estimateBytes?(sql: string, params?: unknown[]): Promise<number>;
}
