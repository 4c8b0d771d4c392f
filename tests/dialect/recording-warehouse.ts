/**
 * A Warehouse that runs nothing: it records every statement and query it is given and
 * answers with canned rows, so the real pipelines (materializations, identity, segments,
 * syncs) can be driven for a dialect that has no warehouse here, and the SQL they would send
 * can be checked by a parser.
 */
import type { ColumnInfo, ColumnSpec, Dialect, Executor, Relation, RelationInfo, Row, Warehouse } from '../../src/warehouse/types.js';

export interface RecordedStatement {
  sql: string;
  params: unknown[];
  via: 'execute' | 'query' | 'stream';
  /** What the driver was doing (e.g. `build model.vip`), set through `during`. */
  origin: string;
  /** The src/ or adapters/ frames that sent it (`file:line < caller < ...`): the module that generated the SQL. */
  generator: string;
}

export interface RecordingOptions {
  /** Relations that exist, per schema (default: none). */
  relations?(schema: string): RelationInfo[];
  /** Columns of a relation (default: none). */
  columns?(rel: Relation): string[];
  /** Rows for a query; `undefined` falls back to the default answer. */
  answer?(sql: string, params: unknown[]): Row[] | undefined;
  /** Rows a streamed query yields (default: none). */
  streamRows?(sql: string): Row[];
}

/**
 * Every column of the default row is NULL: counts read as 0 through `Number(...)`, and
 * `max(...)` probes see an empty table.
 */
function nullRow(): Row {
  return new Proxy({} as Row, { get: (_target, key) => (typeof key === 'string' ? null : undefined) });
}

/** The statement with every parenthesised part removed: what is left is its top level. */
function topLevel(sql: string): string {
  let s = sql;
  for (let prev = ''; prev !== s; ) {
    prev = s;
    s = s.replace(/\([^()]*\)/g, '');
  }
  return s.toLowerCase();
}

/**
 * Without GROUP BY or LIMIT at the top level a query aggregates to exactly one row (the code
 * under test destructures `[{ n }]`); with them, no rows (no duplicates, no violations).
 */
function defaultAnswer(sql: string): Row[] {
  const top = topLevel(sql);
  return /\bgroup\s+by\b|\blimit\b/.test(top) ? [] : [nullRow()];
}

/**
 * The src/ and adapters/ frames that sent a statement, innermost first (`file:line < caller`):
 * helpers such as `IdentityPipeline.create` only wrap SQL their callers wrote.
 */
function generatorFrames(): string {
  const frames: string[] = [];
  for (const line of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = /((?:src|adapters)\/[^\s():]+\.ts):(\d+)/.exec(line);
    if (m && !frames.includes(`${m[1]}:${m[2]}`)) frames.push(`${m[1]}:${m[2]}`);
    if (frames.length === 3) break;
  }
  return frames.join(' < ') || 'unknown';
}

export class RecordingWarehouse implements Warehouse {
  readonly type: string;
  readonly statements: RecordedStatement[] = [];
  private origin = 'setup';

  constructor(readonly dialect: Dialect, private readonly opts: RecordingOptions = {}) {
    this.type = dialect.name;
  }

  /** Labels the statements recorded while `fn` runs. */
  async during<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.origin;
    this.origin = origin;
    try {
      return await fn();
    } finally {
      this.origin = prior;
    }
  }

  private record(sql: string, params: unknown[] | undefined, via: RecordedStatement['via']): void {
    this.statements.push({ sql, params: params ?? [], via, origin: this.origin, generator: generatorFrames() });
  }

  /** The run that last asked for a sync lock, so the lock check that follows sees it granted. */
  private lockRunId?: unknown;

  async execute(sql: string, params?: unknown[]): Promise<void> {
    this.record(sql, params, 'execute');
    if (/INSERT INTO \S*sync_locks/i.test(sql)) this.lockRunId = params?.[1];
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    this.record(sql, params, 'query');
    if (/^SELECT run_id FROM \S*sync_locks/i.test(sql)) return [{ run_id: this.lockRunId }] as unknown as T[];
    return (this.opts.answer?.(sql, params ?? []) ?? defaultAnswer(sql)) as T[];
  }

  async *stream<T extends Row = Row>(sql: string, params?: unknown[], _batchSize?: number): AsyncIterable<T[]> {
    this.record(sql, params, 'stream');
    const rows = this.opts.streamRows?.(sql) ?? [];
    if (rows.length) yield rows as T[];
  }

  async bulkLoad(_table: Relation, _columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    let n = 0;
    for await (const batch of rows) n += batch.length;
    return n;
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async relations(schema: string): Promise<RelationInfo[]> {
    return this.opts.relations?.(schema) ?? [];
  }

  async columns(rel: Relation): Promise<ColumnInfo[]> {
    return (this.opts.columns?.(rel) ?? []).map((name) => ({ name, dataType: 'TEXT' }));
  }

  async ping(): Promise<string> {
    return 'recording';
  }

  async close(): Promise<void> {}
}
