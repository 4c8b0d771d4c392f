/**
 * A Warehouse that records when every statement started and ended, so the benchmark can split
 * the pipeline into phases (encode, components, ...) without instrumenting src/identity, and
 * can name the slowest statements when a phase is unexpectedly expensive.
 */
import { performance } from 'node:perf_hooks';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../src/warehouse/types.js';

export interface StatementEvent {
  kind: 'execute' | 'query' | 'stream' | 'bulkLoad' | 'streamInt32' | 'appendInt32';
  sql: string;
  start: number;
  end: number;
  /** Process CPU seconds (DuckDB's threads included) while it ran: steadier than wall time on a shared machine, as statements run one at a time. */
  cpu: number;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export class TimedWarehouse implements Warehouse {
  readonly events: StatementEvent[] = [];
  readonly streamInt32?: (sql: string) => AsyncIterable<Int32Array[]>;
  readonly appendInt32?: (table: Relation, batches: AsyncIterable<Int32Array[]>) => Promise<number>;
  readonly scratchCatalog?: () => Promise<string>;

  constructor(private readonly inner: Warehouse) {
    // Offered only when the wrapped warehouse has them, so the pipeline takes the same path as without the wrapper.
    const stream = inner.streamInt32?.bind(inner);
    const append = inner.appendInt32?.bind(inner);
    if (stream) {
      const events = this.events;
      this.streamInt32 = async function* (sql: string) {
        const start = performance.now();
        const cpu = cpuNow();
        try {
          yield* stream(sql);
        } finally {
          events.push({ kind: 'streamInt32', sql, start, end: performance.now(), cpu: cpuNow() - cpu });
        }
      };
    }
    const scratch = inner.scratchCatalog?.bind(inner);
    if (scratch) this.scratchCatalog = scratch;
    if (append) this.appendInt32 = (table, batches) => this.timed('appendInt32', `append int32 into ${this.dialect.relation(table)}`, () => append(table, batches));
  }

  get dialect() {
    return this.inner.dialect;
  }

  get type() {
    return this.inner.type;
  }

  private async timed<T>(kind: StatementEvent['kind'], sql: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const cpu = cpuNow();
    try {
      return await run();
    } finally {
      this.events.push({ kind, sql, start, end: performance.now(), cpu: cpuNow() - cpu });
    }
  }

  execute(sql: string, params?: unknown[]): Promise<void> {
    return this.timed('execute', sql, () => this.inner.execute(sql, params));
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.timed('query', sql, () => this.inner.query<T>(sql, params));
  }

  /** The recorded span covers the whole iteration, including the consumer's work between batches. */
  async *stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize?: number): AsyncIterable<T[]> {
    const start = performance.now();
    const cpu = cpuNow();
    try {
      yield* this.inner.stream<T>(sql, params, batchSize);
    } finally {
      this.events.push({ kind: 'stream', sql, start, end: performance.now(), cpu: cpuNow() - cpu });
    }
  }

  bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    return this.timed('bulkLoad', `bulk load into ${this.dialect.relation(table)}`, () => this.inner.bulkLoad(table, columns, rows));
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.timed('execute', 'transaction', () => this.inner.transaction(fn));
  }

  relations(schema: string): Promise<RelationInfo[]> {
    return this.inner.relations(schema);
  }

  columns(relation: Relation): Promise<ColumnInfo[]> {
    return this.inner.columns(relation);
  }

  ping(): Promise<string> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Events that started at or after `since` (a performance.now() reading). */
  since(since: number): StatementEvent[] {
    return this.events.filter((e) => e.start >= since);
  }
}

/** One line of SQL, for reports. */
export function oneLine(sql: string, max = 160): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
