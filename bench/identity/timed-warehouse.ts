/**
 * A Warehouse that records when every statement started and ended, so the benchmark can split
 * the pipeline into phases (encode, components, ...) without instrumenting src/identity, and
 * can name the slowest statements when a phase is unexpectedly expensive.
 */
import { performance } from 'node:perf_hooks';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../src/warehouse/types.js';

export interface StatementEvent {
  kind: 'execute' | 'query' | 'stream' | 'bulkLoad';
  sql: string;
  start: number;
  end: number;
}

export class TimedWarehouse implements Warehouse {
  readonly events: StatementEvent[] = [];

  constructor(private readonly inner: Warehouse) {}

  get dialect() {
    return this.inner.dialect;
  }

  get type() {
    return this.inner.type;
  }

  private async timed<T>(kind: StatementEvent['kind'], sql: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await run();
    } finally {
      this.events.push({ kind, sql, start, end: performance.now() });
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
    try {
      yield* this.inner.stream<T>(sql, params, batchSize);
    } finally {
      this.events.push({ kind: 'stream', sql, start, end: performance.now() });
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
