/**
 * Measuring without touching src/sync: a Warehouse and a Destination that record when each
 * call started and ended, and a sampler of resident memory. The engine runs unchanged on them.
 */
import { performance } from 'node:perf_hooks';
import type { Destination } from '../../src/destination/types.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../src/warehouse/types.js';

export interface Span {
  kind: 'execute' | 'query' | 'stream' | 'bulkLoad' | 'transaction' | 'send';
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

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.rec.time('transaction', 'transaction', () => this.inner.transaction(fn));
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
 * samples show when memory peaks (plan vs delivery).
 */
export class RssSampler {
  private peakMb = 0;
  private timer?: NodeJS.Timeout;
  private readonly marks: { label: string; peakMb: number }[] = [];
  private current = 0;

  start(intervalMs = 20): void {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const mb = process.memoryUsage.rss() / 2 ** 20;
    this.peakMb = Math.max(this.peakMb, mb);
    this.current = Math.max(this.current, mb);
  }

  /** Closes a window: the peak seen since the previous mark is reported under `label`. */
  mark(label: string): void {
    this.sample();
    this.marks.push({ label, peakMb: this.current });
    this.current = 0;
  }

  stop(): { peakSampledMb: number; maxRssMb: number; windows: { label: string; peakMb: number }[] } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return { peakSampledMb: this.peakMb, maxRssMb: process.resourceUsage().maxRSS / 1024, windows: this.marks };
  }
}
