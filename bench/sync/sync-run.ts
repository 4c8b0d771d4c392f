/**
 * One sync run in its own process, through the same calls `cdp sync run` makes (compile, load
 * the syncs, create the destination, runSync), on an instrumented warehouse and destination.
 *
 *   node dist/bench/sync/sync-run.js --dir DIR --sync NAME   (forked by run.js)
 */
import { performance } from 'node:perf_hooks';
import { compileProject } from '../../src/compiler/compile.js';
import { runSync, type SyncRunResult } from '../../src/sync/engine.js';
import { createDestination } from '../../src/sync/runner.js';
import { loadSyncs } from '../../src/sync/spec.js';
import { openWarehouse, type TargetConfig } from '../../src/warehouse/registry.js';
import { argValue, childMain } from './child.js';
import { Recorder, RssSampler, TimedWarehouse, maxRssMb, timedDestination, type Span } from './instrument.js';

export interface SyncMeasurement {
  result: Pick<SyncRunResult, 'status' | 'plan' | 'added' | 'changed' | 'removed' | 'rejected' | 'retried' | 'requests' | 'message'>;
  /** compileProject + loadSyncs + opening DuckDB: outside runSync. */
  startupS: number;
  /** runSync end to end: the headline. */
  wallS: number;
  /** Lock, state tables, key checks: runSync's start up to the plan statement. */
  prePlanS: number;
  /** buildPlan: the CREATE TABLE ... AS of the plan and its counts. */
  planS: number;
  /** From the plan's counts to runSync's return. */
  deliveryS: number;
  /** Sum over requests of the time in destination.send (up to `concurrency` overlap). */
  sendS: number;
  /** Serialised bookkeeping per batch: pending rows loaded, confirm table loaded, commit transaction. */
  pendingLoadS: number;
  confirmLoadS: number;
  commitTxS: number;
  batches: number;
  /** Mean commit transaction of the first and of the last tenth of the batches: growth means cost per batch rises with the snapshot. */
  commitTxFirstMs: number;
  commitTxLastMs: number;
  /** Seconds per statement inside the commit transactions, summed over batches; `BEGIN+COMMIT` is the rest. */
  txStatements: Record<string, number>;
  /** DuckDB's own accounting right after the run (duckdb_memory()), MB by tag, largest first. */
  duckdbMemoryMb: Record<string, number>;
  memoryLimit?: string;
  cpuS: number;
  maxRssMb: number;
  peakPlanMb: number;
  peakDeliveryMb: number;
  /** V8 heap + Buffers at the RSS peak, and its own maximum. */
  jsAtPeakMb: number;
  jsMaxMb: number;
}

/** `DELETE FROM "cdp_state"."sync_x_snapshot" WHERE ...` -> `DELETE FROM snapshot`. */
function statementLabel(sql: string, sync: string): string {
  const m = /^(\w+(?: INTO| FROM)?) (\S+)/.exec(sql);
  if (!m) return sql.slice(0, 30);
  const table = m[2].replace(/"/g, '').split('.').pop()!.replace(`sync_${sync}_`, '').replace(/^sync_/, '');
  return `${m[1]} ${table}`;
}

const isPlanStatement = (s: Span) => s.kind === 'execute' && /^CREATE TABLE \S+_plan" AS/.test(s.label);
const isPlanCount = (s: Span) => s.kind === 'query' && s.label.includes('group by change, op');

childMain(async (): Promise<SyncMeasurement> => {
  const args = process.argv.slice(2);
  const dir = argValue(args, '--dir')!;
  const name = argValue(args, '--sync')!;
  const rss = new RssSampler();
  rss.start();

  const t0 = performance.now();
  const compiled = await compileProject({ projectDir: dir });
  const memoryOverride = argValue(args, '--memory-limit');
  const memoryLimit = memoryOverride ?? (compiled.target.settings.memory_limit as string | undefined);
  const checkpointThreshold = argValue(args, '--checkpoint-threshold');
  const sync = (await loadSyncs(compiled)).find((s) => s.spec.name === name);
  if (!sync) throw new Error(`no sync ${name} in ${dir}`);
  const rec = new Recorder();
  const wh = new TimedWarehouse(await openWarehouse(compiled.target.settings as TargetConfig), rec);
  // The target's memory_limit applies at open; this overrides it for one run.
  if (memoryOverride) await wh.execute(`SET memory_limit = ${wh.dialect.quoteString(memoryOverride)}`);
  // Whether COMMIT time is DuckDB's automatic checkpoints (default: every 16 MB of WAL).
  if (checkpointThreshold) await wh.execute(`SET checkpoint_threshold = ${wh.dialect.quoteString(checkpointThreshold)}`);
  const destination = timedDestination(await createDestination(compiled, sync), rec);

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let result: SyncRunResult;
  let end: number;
  let duckdbMemoryMb: Record<string, number> = {};
  try {
    result = await runSync(wh, sync, destination, compiled.project.config.stateSchema);
    end = performance.now();
    const tags = await wh.query<{ tag: string; bytes: number }>('select tag, memory_usage_bytes as bytes from duckdb_memory() where memory_usage_bytes > 0 order by 2 desc');
    duckdbMemoryMb = Object.fromEntries(tags.map((t) => [t.tag, Number((Number(t.bytes) / 2 ** 20).toFixed(1))]));
  } finally {
    await wh.close();
  }
  const cpu = process.cpuUsage(cpu0);
  rss.stop();

  const txs = rec.spans.filter((s) => s.kind === 'transaction').sort((a, b) => a.start - b.start);
  const tenth = Math.max(1, Math.floor(txs.length / 10));
  const meanMs = (xs: Span[]) => (xs.length ? xs.reduce((sum, s) => sum + s.end - s.start, 0) / xs.length : 0);
  const txStatements: Record<string, number> = {};
  for (const s of rec.spans.filter((x) => x.kind === 'tx-statement')) {
    const label = statementLabel(s.label, name);
    txStatements[label] = (txStatements[label] ?? 0) + (s.end - s.start) / 1000;
  }
  const inStatements = Object.values(txStatements).reduce((a, b) => a + b, 0);
  if (txs.length) txStatements['BEGIN+COMMIT'] = rec.total((s) => s.kind === 'transaction') / 1000 - inStatements;

  const planStart = rec.first(isPlanStatement)?.start ?? start;
  const planEnd = rec.first(isPlanCount)?.end ?? planStart;
  const loads = (table: string) => rec.total((s) => s.kind === 'bulkLoad' && s.label.endsWith(table));
  const { status, plan, added, changed, removed, rejected, retried, requests, message } = result;
  return {
    result: { status, plan, added, changed, removed, rejected, retried, requests, message },
    startupS: (start - t0) / 1000,
    wallS: (end - start) / 1000,
    prePlanS: (planStart - start) / 1000,
    planS: (planEnd - planStart) / 1000,
    deliveryS: (end - planEnd) / 1000,
    sendS: rec.total((s) => s.kind === 'send') / 1000,
    pendingLoadS: rec.total((s) => s.kind === 'tx-statement' && /^INSERT INTO \S+_pending"/.test(s.label)) / 1000,
    confirmLoadS: (loads('_confirm') + rec.total((s) => s.kind === 'execute' && /^DELETE FROM \S+_confirm"/.test(s.label))) / 1000,
    commitTxS: rec.total((s) => s.kind === 'transaction') / 1000,
    batches: txs.length,
    commitTxFirstMs: meanMs(txs.slice(0, tenth)),
    commitTxLastMs: meanMs(txs.slice(-tenth)),
    txStatements,
    duckdbMemoryMb,
    memoryLimit,
    cpuS: (cpu.user + cpu.system) / 1e6,
    maxRssMb: maxRssMb(),
    peakPlanMb: rss.peakMb(planStart, planEnd),
    peakDeliveryMb: rss.peakMb(planEnd, end),
    jsAtPeakMb: rss.jsAtPeakMb().atPeak,
    jsMaxMb: rss.jsAtPeakMb().max,
  };
});
