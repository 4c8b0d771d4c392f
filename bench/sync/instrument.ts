/**
 * Measuring without touching src/sync: a Warehouse and a Destination that record when each
 * call started and ended, and a sampler of resident memory. The engine runs unchanged on them.
 */
import { performance } from 'node:perf_hooks';
import type { Destination } from '../../src/destination/types.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../src/warehouse/types.js';

export interface Span {
  kind: 'execute' | 'query' | 'stream' | 'bulkLoad' | 'transaction' | 'tx-statement' | 'send';
  label: string;
  start: number;
  end: number;
}

export class Recorder {
  readonly spans: Span[] = [];

  async time<T>(kind: Span['kind'], label: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await run();
    } finally {
      this.spans.push({ kind, label, start, end: performance.now() });
    }
  }

  /** Total time of matching spans (they may overlap: sends run concurrently). */
  total(match: (s: Span) => boolean): number {
    return this.spans.filter(match).reduce((sum, s) => sum + (s.end - s.start), 0);
  }

  first(match: (s: Span) => boolean): Span | undefined {
    return this.spans.filter(match).sort((a, b) => a.start - b.start)[0];
  }
}

export class TimedWarehouse implements Warehouse {
  constructor(private readonly inner: Warehouse, private readonly rec: Recorder) {}

  get dialect() {
    return this.inner.dialect;
  }

  get type() {
    return this.inner.type;
  }

  ping(): Promise<string> {
    return this.inner.ping();
  }

  execute(sql: string, params?: unknown[]): Promise<void> {
    return this.rec.time('execute', sql, () => this.inner.execute(sql, params));
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.rec.time('query', sql, () => this.inner.query<T>(sql, params));
  }

  /** The span covers the whole iteration, including the consumer's waits between chunks. */
  async *stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize?: number): AsyncIterable<T[]> {
    const start = performance.now();
    try {
      yield* this.inner.stream<T>(sql, params, batchSize);
    } finally {
      this.rec.spans.push({ kind: 'stream', label: sql, start, end: performance.now() });
    }
  }

  bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    return this.rec.time('bulkLoad', table.name, () => this.inner.bulkLoad(table, columns, rows));
  }

  /** Statements inside are timed too; the transaction's span minus theirs is BEGIN + COMMIT. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.rec.time('transaction', 'transaction', () =>
      this.inner.transaction((tx) =>
        fn({
          execute: (sql, params) => this.rec.time('tx-statement', sql, () => tx.execute(sql, params)),
          query: (sql, params) => this.rec.time('tx-statement', sql, () => tx.query(sql, params)),
        }),
      ),
    );
  }

  relations(schema: string): Promise<RelationInfo[]> {
    return this.inner.relations(schema);
  }

  columns(relation: Relation): Promise<ColumnInfo[]> {
    return this.inner.columns(relation);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function timedDestination(inner: Destination, rec: Recorder): Destination {
  return {
    ...inner,
    send: (batch, ctx) => rec.time('send', `${batch.length} ops`, () => inner.send(batch, ctx)),
  };
}

/**
 * Samples RSS every few milliseconds. The kernel's high-water mark (maxRSS) is the headline;
 * the timed samples tell in which step (plan or delivery) memory peaks.
 */
export class RssSampler {
  private readonly samples: { at: number; mb: number; jsMb: number }[] = [];
  private timer?: NodeJS.Timeout;

  start(intervalMs = 20): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** `jsMb`: V8 heap plus Buffers; the rest of RSS is native (DuckDB, the binary, malloc). */
  sample(): void {
    const m = process.memoryUsage();
    this.samples.push({ at: performance.now(), mb: m.rss / 2 ** 20, jsMb: (m.heapUsed + m.external) / 2 ** 20 });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }

  /** Highest sample taken between two performance.now() instants (all samples by default). */
  peakMb(from = 0, to = Infinity): number {
    return this.samples.filter((s) => s.at >= from && s.at <= to).reduce((m, s) => Math.max(m, s.mb), 0);
  }

  /** The JS share (heap + Buffers) at the sample where RSS peaked, and the highest JS figure seen. */
  jsAtPeakMb(): { atPeak: number; max: number } {
    const peak = this.samples.reduce((a, s) => (s.mb > a.mb ? s : a), this.samples[0]);
    return { atPeak: peak?.jsMb ?? 0, max: this.samples.reduce((m, s) => Math.max(m, s.jsMb), 0) };
  }
}

/** The kernel's high-water mark of this process's resident memory, in MB. */
export const maxRssMb = () => process.resourceUsage().maxRSS / 1024;
