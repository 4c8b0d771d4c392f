/**
 * One sync run: lock, plan in the warehouse, deliver in batches (rate limit, concurrency,
 * retries), and commit to the snapshot only what the destination confirmed, a few batches at a
 * time (commit.ts).
 * Delivery is at least once: a batch whose outcome is unknown (timeout, crash) is sent again,
 * which is safe because every operation (add, remove, upsert, delete) is idempotent.
 */
import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { RetryableBatchError, type Destination, type RowOutcome } from '../destination/types.js';
import { CdpError, EXIT_FAILURE } from '../errors.js';
import { redact } from '../project/secrets.js';
import type { Warehouse } from '../warehouse/types.js';
import { Committer, ConfirmGroup, mergeRanges, recoverPlan, toRanges } from './commit.js';
import { acquireLock, releaseLock } from './lock.js';
import { PlannedBatch, type PlanRow } from './operation.js';
import { assertSourceKeys, buildPlan, type PlanCounts } from './plan.js';
import type { ResolvedSync } from './spec.js';
import { ensureSyncTables, snapshotHasOldShape, syncTables, upgradeSnapshot, type SyncTables } from './state.js';
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

const MAX_BACKOFF_MS = 30_000;

export async function runSync(wh: Warehouse, sync: ResolvedSync, destination: Destination, stateSchema: string, opts: SyncRunOptions = {}): Promise<SyncRunResult> {
  const t = syncTables(stateSchema, sync.spec.name);
  const runId = randomUUID();
  await ensureSyncTables(wh, t);
  await assertSourceKeys(wh, sync);
  if (opts.dryRun) {
    if (await snapshotHasOldShape(wh, t)) {
      throw new CdpError(`sync "${sync.spec.name}" has state from an older cdp version; a dry run cannot plan against it`, {
        hint: `run \`cdp sync run ${sync.spec.name}\` once: it converts the state and sends every row still in the source again`,
      });
    }
    return dryRun(wh, sync, t, runId, Boolean(opts.fullResync));
  }

  await acquireLock(wh, t, sync.spec.name, runId);
  const d = wh.dialect;
  try {
    // Under the lock: no other run commits to the snapshot while it is copied.
    const upgraded = await upgradeSnapshot(wh, t);
    await wh.execute(
      `INSERT INTO ${d.relation(t.runs)} (sync, run_id, started_at, status, full_resync) VALUES ($1, $2, ${d.currentTimestamp()}, 'running', $3)`,
      [sync.spec.name, runId, Boolean(opts.fullResync)],
    );
    await recoverPlan(wh, t);
    const plan = await buildPlan(wh, sync, t, Boolean(opts.fullResync));
    const delivery = new Delivery(wh, sync, destination, t, runId, opts);
    const result = await delivery.run(plan);
    if (upgraded) result.message += '; the sync state came from an older cdp version, so every row was sent again once';
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

async function dryRun(wh: Warehouse, sync: ResolvedSync, tables: SyncTables, runId: string, fullResync: boolean): Promise<SyncRunResult> {
  const t = { ...tables, plan: tables.dryRunPlan };
  const plan = await buildPlan(wh, sync, t, fullResync);
  const rows = await wh.query<PlanRow & Record<string, unknown>>(`select key, change, op, fields from ${wh.dialect.relation(t.plan)} order by change, key limit 10`);
  await wh.execute(wh.dialect.drop(t.plan, 'table'));
  return {
    sync: sync.spec.name, runId, status: 'dry_run', plan, added: 0, changed: 0, removed: 0, skipped: 0, rejected: 0, retried: 0, requests: 0,
    message: `would send ${plan.add} add, ${plan.change} change, ${plan.remove} remove (${plan.skip} need no request)`,
    // Field names only: a dry run shows what would go, not the personal data itself.
    sample: rows.map((r) => ({ key: r.key, change: r.change, op: r.op, fields: Object.keys(JSON.parse(r.fields ?? '{}')) })),
  };
}

/**
 * Outcomes are committed once this many rows are confirmed, or GROUP_MS after the first. Past
 * 122,880 rows (one row group) DuckDB writes an insert's rows straight to the database file
 * rather than to its log, and a commit no longer triggers a checkpoint that rewrites them; a
 * crash can cost at most this many rows sent twice.
 */
const GROUP_ROWS = 125_000;
const GROUP_MS = 2_000;

class Delivery {
  /** No new batches once aborted (graceful stop or a fatal error). */
  private readonly stopped = new AbortController();
  /** Aborts requests in flight: only on a fatal error, never on a graceful stop. */
  private readonly cancel = new AbortController();
  private fatal?: Error;
  private readonly counts = { added: 0, changed: 0, removed: 0, skipped: 0, rejected: 0, retried: 0, requests: 0 };
  /** Commits run one at a time: parallel ones would conflict on the snapshot. */
  private commitChain: Promise<void> = Promise.resolve();
  private group = new ConfirmGroup();
  private groupTimer?: NodeJS.Timeout;
  /** Rows handed to a commit that has not finished. */
  private committing = 0;
  private readonly bucket?: TokenBucket;
  private batchSeq = 0;
  /** Seqs of the rows handed to the destination: the ones that may have arrived. */
  private sentRanges: [number, number][] = [];
  /** Set once the ranges grew too many to keep (plans read out of seq order): treat every row as sent. */
  private sentEverything = false;

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
    const [{ n: open }] = await this.wh.query<{ n: number }>(`select count(*) as n from ${d.relation(this.t.rejections)} where sync = $1`, [this.sync.spec.name]);
    const committer = new Committer(this.wh, this.t, this.sync.spec.name, this.runId, Boolean(this.opts.fullResync), Number(open) > 0);
    await committer.createConfirmTable();
    if (plan.skip) {
      const [skipped] = await this.wh.query<{ adds: number; changes: number; removes: number }>(
        `select sum(case when change = 'add' then 1 else 0 end) as adds, sum(case when change = 'change' then 1 else 0 end) as changes, ` +
        `sum(case when change = 'remove' then 1 else 0 end) as removes from ${d.relation(this.t.plan)} where op = 'skip'`);
      await committer.commitSkipped({ add: Number(skipped.adds), change: Number(skipped.changes), remove: Number(skipped.removes) });
      this.counts.skipped += plan.skip;
    }
    const toSend = plan.total - plan.skip;

    const caps = this.dest.capabilities;
    const queue = new PQueue({ concurrency: Math.max(1, caps.concurrency) });
    let buffer = new PlannedBatch();
    let sent = 0;
    const dispatch = (planned: PlannedBatch) => {
      sent += planned.size;
      // p-queue keeps finished tasks around while the queue stays busy: hand the batch over and
      // drop the closure's reference, or delivery memory grows with the segment.
      let batch: PlannedBatch | undefined = planned;
      void queue.add(() => {
        const b = batch!;
        batch = undefined;
        return this.deliverBatch(b, committer);
      });
      this.opts.onProgress?.({ sent, total: toSend });
    };
    // No ORDER BY: a sort would hold the whole plan. In table order, batches are seq ranges.
    const stream = toSend ? this.wh.stream<PlanRow & Record<string, unknown>>(`select seq, key, change, op, fields from ${d.relation(this.t.plan)} where op <> 'skip'`, [], caps.batchSize) : [];
    let readError: unknown;
    try {
      for await (const rows of stream) {
        for (const row of rows) {
          buffer.push(row);
          if (buffer.size === caps.batchSize) {
            dispatch(buffer);
            buffer = new PlannedBatch();
          }
        }
        // Bounded memory: read further only when no batch waits for a free slot.
        await queue.onSizeLessThan(1);
        if (this.stopped.signal.aborted) break;
      }
    } catch (err) {
      // Reading the plan failed: send nothing more, but let the batches in flight finish and
      // commit against this run's plan before the error leaves run() and the lock is released.
      readError = err;
      this.stopped.abort();
    }
    if (buffer.size && !this.stopped.signal.aborted) dispatch(buffer);
    await queue.onIdle();
    // Whatever was confirmed is committed, also when the run stops on an error.
    await this.flush(committer);
    await this.commitChain;
    if (!this.fatal && !this.stopped.signal.aborted && this.dest.finish) {
      await this.dest.finish({ sync: this.sync.spec.name, runId: this.runId, signal: this.cancel.signal });
    }
    const resolved = !this.fatal && !this.stopped.signal.aborted;
    await committer.finish(resolved, this.sentEverything ? 'all' : mergeRanges(this.sentRanges));
    if (readError) throw readError;

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

  private async deliverBatch(batch: PlannedBatch, committer: Committer): Promise<void> {
    if (this.fatal || this.stopped.signal.aborted) return;
    const batchId = `${this.runId}:${++this.batchSeq}`;
    if (!this.sentEverything) {
      this.sentRanges.push(...toRanges(batch.seqs));
      // Where the warehouse returns the plan out of seq order (BigQuery, Snowflake) a batch can
      // be thousands of ranges: merge now and then, and past a bound mark the whole plan instead.
      if (this.sentRanges.length > 4096) this.sentRanges = mergeRanges(this.sentRanges);
      if (this.sentRanges.length > 4096) {
        this.sentEverything = true;
        this.sentRanges = [];
      }
    }
    const n = batch.size;
    // Per row: undefined while unknown, null once confirmed, else the rejection's reason.
    const outcome: (string | null | undefined)[] = new Array<undefined>(n);
    let keyIndex: Map<string, number> | undefined;
    const indexOf = (key: string) => (keyIndex ??= new Map(batch.ops.map((o, i) => [o.key, i]))).get(key);
    let todo = Array.from({ length: n }, (_, i) => i);
    for (let attempt = 1; todo.length; attempt++) {
      // Stop sending; rows confirmed by earlier attempts are still committed below.
      if (this.fatal) break;
      // Rows the destination named as not ok; the others are ok.
      const verdicts = new Map<number, RowOutcome>();
      let waitMs: number | undefined;
      try {
        await this.bucket?.take(this.stopped.signal);
        this.counts.requests++;
        const ops = todo.length === n ? batch.ops : todo.map((i) => batch.ops[i]);
        // A resend of the same rows keeps the batch id, so a receiver that honours idempotency
        // keys answers it from its cache; a resend of some rows is a different request.
        const requestId = todo.length === n ? batchId : `${batchId}.${attempt}`;
        const results = await this.dest.send(ops, { sync: this.sync.spec.name, runId: this.runId, batchId: requestId, signal: this.cancel.signal });
        for (const r of results) {
          if (r.status === 'ok') continue;
          const i = indexOf(r.key);
          if (i !== undefined) verdicts.set(i, r);
        }
      } catch (err) {
        if (!(err instanceof RetryableBatchError)) {
          // Auth, configuration or a bug in a connector: stop sending; confirmed rows stay committed.
          this.stopOn(err);
          break;
        }
        for (const i of todo) verdicts.set(i, { key: batch.ops[i].key, status: 'retry', reason: err.message });
        waitMs = err.retryAfterMs;
      }
      const again: number[] = [];
      for (const i of todo) {
        const r = verdicts.get(i);
        if (!r || r.status === 'ok') outcome[i] = null;
        else if (r.status === 'rejected') outcome[i] = r.reason;
        else if (attempt >= this.sync.spec.maxAttempts) outcome[i] = `gave up after ${attempt} attempts: ${r.reason}`;
        else again.push(i);
      }
      todo = again;
      if (todo.length) {
        this.counts.retried += todo.length;
        await sleep(waitMs ?? backoff(attempt, this.opts.retryBaseMs ?? 500), this.stopped.signal);
        if (this.stopped.signal.aborted && !this.fatal) break; // stopping: unconfirmed rows go next run
      }
    }
    // Rows without an outcome (a stop during retries) stay pending and go next run.
    for (let i = 0; i < n; i++) {
      const o = outcome[i];
      if (o === null) this.group.confirm(batch.seqs[i], batch.changes[i]);
      else if (o !== undefined) this.group.reject(batch.seqs[i], batch.ops[i].key, batch.ops[i].op, o);
    }
    if (this.group.size >= GROUP_ROWS) await this.flush(committer);
    else this.groupTimer ??= setTimeout(() => void this.flush(committer), GROUP_MS);
    // Bounded memory and bounded loss on a crash: sending waits when commits fall behind.
    if (this.committing >= 2 * GROUP_ROWS) await this.commitChain;
  }

  /** Hands the confirmed outcomes so far to a commit, after the commits before it. */
  private flush(committer: Committer): Promise<void> {
    clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    const group = this.group;
    if (!group.size) return this.commitChain;
    this.group = new ConfirmGroup();
    this.committing += group.size;
    this.commitChain = this.commitChain.then(async () => {
      try {
        await committer.commit(group);
        this.counts.added += group.ok.add;
        this.counts.changed += group.ok.change;
        this.counts.removed += group.ok.remove;
        this.counts.rejected += group.rejected.length;
      } catch (err) {
        // Without a commit, what was sent since stays pending: the next run sends it again.
        this.stopOn(err);
      } finally {
        this.committing -= group.size;
      }
    });
    return this.commitChain;
  }

  private stopOn(err: unknown): void {
    this.fatal ??= err instanceof Error ? err : new Error(String(err));
    this.stopped.abort();
    this.cancel.abort();
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
