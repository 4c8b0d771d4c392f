/**
 * One sync run: lock, plan in the warehouse, deliver in batches (rate limit, concurrency,
 * retries), and commit to the snapshot only what the destination confirmed, batch by batch.
 * Delivery is at least once: a batch whose outcome is unknown (timeout, crash) is sent again,
 * which is safe because every operation (add, remove, upsert, delete) is idempotent.
 */
import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { RetryableBatchError, type Destination, type Operation, type RowOutcome } from '../destination/types.js';
import { CdpError, EXIT_FAILURE } from '../errors.js';
import { redact } from '../project/secrets.js';
import type { ColumnSpec, Warehouse } from '../warehouse/types.js';
import { acquireLock, releaseLock } from './lock.js';
import { assertSourceKeys, buildPlan, type PlanCounts } from './plan.js';
import type { ResolvedSync } from './spec.js';
import { ensureSyncTables, syncTables, type SyncTables } from './state.js';
import { TokenBucket } from './token-bucket.js';

export interface SyncRunOptions {
  dryRun?: boolean;
  fullResync?: boolean;
  /** Aborted to stop after the batches in flight (graceful shutdown). */
  stop?: AbortSignal;
  /** Base of the exponential backoff between attempts. */
  retryBaseMs?: number;
  onProgress?(event: { sent: number; total: number }): void;
}

export interface SyncRunResult {
  sync: string;
  runId: string;
  status: 'success' | 'partial' | 'failed' | 'interrupted' | 'dry_run';
  plan: PlanCounts;
  added: number;
  changed: number;
  removed: number;
  skipped: number;
  rejected: number;
  retried: number;
  requests: number;
  message: string;
  sample?: { key: string; change: string; op: string; fields: string[] }[];
}

interface PlanRow {
  key: string;
  change: 'add' | 'change' | 'remove';
  op: string;
  row_hash: string;
  fields: string | null;
  [k: string]: unknown;
}

const CONFIRM_COLUMNS: ColumnSpec[] = [
  { name: 'key', type: 'text' },
  { name: 'change', type: 'text' },
  { name: 'op', type: 'text' },
  { name: 'row_hash', type: 'text' },
  { name: 'fields', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'reason', type: 'text' },
];

const MAX_BACKOFF_MS = 30_000;

export async function runSync(wh: Warehouse, sync: ResolvedSync, destination: Destination, stateSchema: string, opts: SyncRunOptions = {}): Promise<SyncRunResult> {
  const t = syncTables(stateSchema, sync.spec.name);
  const runId = randomUUID();
  await ensureSyncTables(wh, t);
  await assertSourceKeys(wh, sync);
  if (opts.dryRun) return dryRun(wh, sync, t, runId, Boolean(opts.fullResync));

  await acquireLock(wh, t, sync.spec.name, runId);
  const d = wh.dialect;
  try {
    await wh.execute(
      `INSERT INTO ${d.relation(t.runs)} (sync, run_id, started_at, status, full_resync) VALUES ($1, $2, ${d.currentTimestamp()}, 'running', $3)`,
      [sync.spec.name, runId, Boolean(opts.fullResync)],
    );
    const plan = await buildPlan(wh, sync, t, Boolean(opts.fullResync));
    const delivery = new Delivery(wh, sync, destination, t, runId, opts);
    const result = await delivery.run(plan);
    await wh.execute(
      `UPDATE ${d.relation(t.runs)} SET finished_at = ${d.currentTimestamp()}, status = $1, planned = $2, added = $3, changed = $4, removed = $5, skipped = $6, rejected = $7, retried = $8, requests = $9, message = $10 WHERE run_id = $11`,
      [result.status, plan.total, result.added, result.changed, result.removed, result.skipped, result.rejected, result.retried, result.requests, result.message, runId],
    );
    return result;
  } catch (err) {
    const message = redact(err instanceof Error ? err.message : String(err));
    await wh.execute(`UPDATE ${d.relation(t.runs)} SET finished_at = ${d.currentTimestamp()}, status = 'failed', message = $1 WHERE run_id = $2`, [message, runId]).catch(() => undefined);
    throw err;
  } finally {
    await releaseLock(wh, t, sync.spec.name, runId).catch(() => undefined);
  }
}

async function dryRun(wh: Warehouse, sync: ResolvedSync, t: SyncTables, runId: string, fullResync: boolean): Promise<SyncRunResult> {
  const plan = await buildPlan(wh, sync, t, fullResync);
  const rows = await wh.query<PlanRow>(`select key, change, op, row_hash, fields from ${wh.dialect.relation(t.plan)} order by change, key limit 10`);
  await wh.execute(wh.dialect.drop(t.plan, 'table'));
  return {
    sync: sync.spec.name, runId, status: 'dry_run', plan, added: 0, changed: 0, removed: 0, skipped: 0, rejected: 0, retried: 0, requests: 0,
    message: `would send ${plan.add} add, ${plan.change} change, ${plan.remove} remove (${plan.skip} need no request)`,
    // Field names only: a dry run shows what would go, not the personal data itself.
    sample: rows.map((r) => ({ key: r.key, change: r.change, op: r.op, fields: Object.keys(JSON.parse(r.fields ?? '{}')) })),
  };
}

class Delivery {
  /** No new batches once aborted (graceful stop or a fatal error). */
  private readonly stopped = new AbortController();
  /** Aborts requests in flight: only on a fatal error, never on a graceful stop. */
  private readonly cancel = new AbortController();
  private fatal?: Error;
  private readonly counts = { added: 0, changed: 0, removed: 0, skipped: 0, rejected: 0, retried: 0, requests: 0 };
  private commitChain: Promise<void> = Promise.resolve();
  private readonly bucket?: TokenBucket;
  private batchSeq = 0;

  constructor(
    private readonly wh: Warehouse,
    private readonly sync: ResolvedSync,
    private readonly dest: Destination,
    private readonly t: SyncTables,
    private readonly runId: string,
    private readonly opts: SyncRunOptions,
  ) {
    const rps = dest.capabilities.requestsPerSecond;
    if (rps) this.bucket = new TokenBucket(rps, Math.max(1, Math.ceil(rps)));
    opts.stop?.addEventListener('abort', () => this.stopped.abort(), { once: true });
  }

  async run(plan: PlanCounts): Promise<SyncRunResult> {
    const d = this.wh.dialect;
    await this.wh.execute(d.drop(this.t.confirm, 'table'));
    await this.wh.execute(d.createTable(this.t.confirm, CONFIRM_COLUMNS));
    // Changes that need no request are confirmed at once.
    if (plan.skip) await this.commitSkipped();

    const caps = this.dest.capabilities;
    const queue = new PQueue({ concurrency: Math.max(1, caps.concurrency) });
    let pending: PlanRow[] = [];
    let sent = 0;
    const dispatch = (rows: PlanRow[]) => {
      sent += rows.length;
      // p-queue keeps finished tasks around while the queue stays busy: hand the rows over and
      // drop the closure's reference, or delivery memory grows with the segment.
      let batch: PlanRow[] | undefined = rows;
      void queue.add(() => {
        const b = batch!;
        batch = undefined;
        return this.deliverBatch(b);
      });
      this.opts.onProgress?.({ sent, total: plan.total - plan.skip });
    };
    const stream = this.wh.stream<PlanRow>(`select key, change, op, row_hash, fields from ${d.relation(this.t.plan)} where op <> 'skip' order by key`, [], caps.batchSize);
    for await (const rows of stream) {
      for (const row of rows) {
        pending.push(row);
        if (pending.length === caps.batchSize) {
          dispatch(pending);
          pending = [];
        }
      }
      // Bounded memory: read further only when few batches wait.
      await queue.onSizeLessThan(Math.max(2, caps.concurrency));
      if (this.stopped.signal.aborted) break;
    }
    if (pending.length && !this.stopped.signal.aborted) dispatch(pending);
    await queue.onIdle();
    await this.commitChain;
    if (!this.fatal && !this.stopped.signal.aborted && this.dest.finish) {
      await this.dest.finish({ sync: this.sync.spec.name, runId: this.runId, signal: this.cancel.signal });
    }
    await this.wh.execute(d.drop(this.t.confirm, 'table'));
    await this.wh.execute(d.drop(this.t.plan, 'table'));

    const c = this.counts;
    const status: SyncRunResult['status'] = this.fatal ? 'failed' : this.opts.stop?.aborted ? 'interrupted' : c.rejected ? 'partial' : 'success';
    const message = this.fatal
      ? `stopped: ${redact(this.fatal.message)}`
      : `${c.added} added, ${c.changed} changed, ${c.removed} removed, ${c.rejected} rejected in ${c.requests} request${c.requests === 1 ? '' : 's'}` +
        (status === 'interrupted' ? ' (interrupted; the rest goes next run)' : '');
    const result: SyncRunResult = { sync: this.sync.spec.name, runId: this.runId, status, plan, ...c, message };
    if (this.fatal) {
      throw Object.assign(new CdpError(`sync "${this.sync.spec.name}" stopped: ${redact(this.fatal.message)}`, {
        exitCode: EXIT_FAILURE, hint: 'check the destination credentials and settings; confirmed rows were kept and the rest goes next run',
      }), { result });
    }
    return result;
  }

  private async deliverBatch(rows: PlanRow[]): Promise<void> {
    if (this.fatal || this.stopped.signal.aborted) return;
    const batchId = `${this.runId}:${++this.batchSeq}`;
    await this.markPending(rows);
    const outcome = new Map<string, { status: 'ok' | 'rejected'; reason?: string }>();
    let todo = rows;
    for (let attempt = 1; todo.length; attempt++) {
      if (this.fatal) return;
      const ops: Operation[] = todo.map((r) => ({ op: r.op as Operation['op'], key: r.key, fields: JSON.parse(r.fields ?? '{}') }));
      let results: RowOutcome[];
      let waitMs: number | undefined;
      try {
        await this.bucket?.take(this.stopped.signal);
        this.counts.requests++;
        results = await this.dest.send(ops, { sync: this.sync.spec.name, runId: this.runId, batchId, signal: this.cancel.signal });
      } catch (err) {
        if (!(err instanceof RetryableBatchError)) {
          // Auth, configuration or a bug in a connector: stop sending; confirmed rows stay committed.
          this.fatal = err instanceof Error ? err : new Error(String(err));
          this.stopped.abort();
          this.cancel.abort();
          return;
        }
        results = todo.map((r) => ({ key: r.key, status: 'retry' as const, reason: err instanceof Error ? err.message : String(err) }));
        waitMs = err instanceof RetryableBatchError ? err.retryAfterMs : undefined;
      }
      const byKey = new Map(results.map((r) => [r.key, r]));
      const again: PlanRow[] = [];
      for (const row of todo) {
        const r = byKey.get(row.key) ?? { key: row.key, status: 'ok' as const };
        if (r.status === 'retry') {
          if (attempt >= this.sync.spec.maxAttempts) outcome.set(row.key, { status: 'rejected', reason: `gave up after ${attempt} attempts: ${r.reason}` });
          else again.push(row);
        } else outcome.set(row.key, r.status === 'ok' ? { status: 'ok' } : { status: 'rejected', reason: r.reason });
      }
      todo = again;
      if (todo.length) {
        this.counts.retried += todo.length;
        await sleep(waitMs ?? backoff(attempt, this.opts.retryBaseMs ?? 500), this.stopped.signal);
        if (this.stopped.signal.aborted && !this.fatal) break; // stopping: unconfirmed rows go next run
      }
    }
    await this.commit(rows, outcome);
  }

  /** Durable before anything is sent: a crash after sending leaves these for the next plan. */
  private markPending(rows: PlanRow[]): Promise<void> {
    const next = this.commitChain.then(async () => {
      async function* once() { yield rows.map((r) => [r.key, r.fields]); }
      await this.wh.bulkLoad(this.t.pending, [{ name: 'key', type: 'text' }, { name: 'fields', type: 'text' }], once());
    });
    this.commitChain = next.catch(() => undefined);
    return next;
  }

  /** Serialised: commits from parallel batches would conflict on the snapshot otherwise. */
  private commit(rows: PlanRow[], outcome: Map<string, { status: 'ok' | 'rejected'; reason?: string }>): Promise<void> {
    const done = rows.filter((r) => outcome.has(r.key));
    const next = this.commitChain.then(() => this.commitRows(done, outcome));
    this.commitChain = next.catch(() => undefined);
    return next;
  }

  private async commitRows(rows: PlanRow[], outcome: Map<string, { status: 'ok' | 'rejected'; reason?: string }>): Promise<void> {
    if (!rows.length) return;
    const data = rows.map((r) => {
      const o = outcome.get(r.key)!;
      return [r.key, r.change, r.op, r.row_hash, r.fields, o.status, o.reason ?? null];
    });
    await this.applyConfirmed(data);
    for (const r of rows) {
      const o = outcome.get(r.key)!;
      if (o.status === 'rejected') this.counts.rejected++;
      else if (r.change === 'add') this.counts.added++;
      else if (r.change === 'change') this.counts.changed++;
      else this.counts.removed++;
    }
  }

  private async commitSkipped(): Promise<void> {
    const d = this.wh.dialect;
    const rows = await this.wh.query<PlanRow>(`select key, change, op, row_hash, fields from ${d.relation(this.t.plan)} where op = 'skip'`);
    await this.applyConfirmed(rows.map((r) => [r.key, r.change, r.op, r.row_hash, r.fields, 'ok', null]));
    this.counts.skipped += rows.length;
  }

  /** One transaction per batch: snapshot, rejections and changelog move together. */
  private async applyConfirmed(data: unknown[][]): Promise<void> {
    const d = this.wh.dialect;
    const c = d.relation(this.t.confirm);
    const snap = d.relation(this.t.snapshot);
    const now = d.currentTimestamp();
    const sync = d.quoteString(this.sync.spec.name);
    const run = d.quoteString(this.runId);
    await this.wh.execute(`DELETE FROM ${c} WHERE 1 = 1`); // BigQuery requires a WHERE
    async function* once() { yield data; }
    await this.wh.bulkLoad(this.t.confirm, CONFIRM_COLUMNS, once());
    await this.wh.transaction(async (tx) => {
      await tx.execute(`DELETE FROM ${snap} WHERE key IN (SELECT key FROM ${c} WHERE status = 'ok')`);
      await tx.execute(`INSERT INTO ${snap} (key, row_hash, fields, delivered_at) SELECT key, row_hash, fields, ${now} FROM ${c} WHERE status = 'ok' AND change <> 'remove'`);
      await tx.execute(`DELETE FROM ${d.relation(this.t.rejections)} WHERE sync = ${sync} AND key IN (SELECT key FROM ${c} WHERE status = 'ok')`);
      await tx.execute(
        `UPDATE ${d.relation(this.t.rejections)} AS r SET attempts = r.attempts + 1, last_seen = ${now}, reason = x.reason, op = x.op ` +
        `FROM (SELECT key, op, reason FROM ${c} WHERE status = 'rejected') AS x WHERE r.sync = ${sync} AND r.key = x.key`);
      await tx.execute(
        `INSERT INTO ${d.relation(this.t.rejections)} (sync, key, op, reason, attempts, first_seen, last_seen) ` +
        `SELECT ${sync}, x.key, x.op, x.reason, 1, ${now}, ${now} FROM ${c} AS x WHERE x.status = 'rejected' ` +
        `AND NOT EXISTS (SELECT 1 FROM ${d.relation(this.t.rejections)} r WHERE r.sync = ${sync} AND r.key = x.key)`);
      await tx.execute(`DELETE FROM ${d.relation(this.t.pending)} WHERE key IN (SELECT key FROM ${c})`);
      await tx.execute(`INSERT INTO ${d.relation(this.t.changelog)} (sync, run_id, key, op, sent_at) SELECT ${sync}, ${run}, key, op, ${now} FROM ${c} WHERE status = 'ok' AND op <> 'skip'`);
    });
  }
}

/** Exponential backoff with full jitter, capped. */
export function backoff(attempt: number, baseMs: number): number {
  return Math.random() * Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (attempt - 1));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
