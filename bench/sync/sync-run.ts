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
  cpuS: number;
  maxRssMb: number;
  peakPlanMb: number;
  peakDeliveryMb: number;
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
  const sync = (await loadSyncs(compiled)).find((s) => s.spec.name === name);
  if (!sync) throw new Error(`no sync ${name} in ${dir}`);
  const rec = new Recorder();
  const wh = new TimedWarehouse(await openWarehouse(compiled.target.settings as TargetConfig), rec);
  const destination = timedDestination(await createDestination(compiled, sync), rec);

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let result: SyncRunResult;
  try {
    result = await runSync(wh, sync, destination, compiled.project.config.stateSchema);
  } finally {
    await wh.close();
  }
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  rss.stop();

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
    pendingLoadS: loads('_pending') / 1000,
    confirmLoadS: (loads('_confirm') + rec.total((s) => s.kind === 'execute' && /^DELETE FROM \S+_confirm"$/.test(s.label))) / 1000,
    commitTxS: rec.total((s) => s.kind === 'transaction') / 1000,
    batches: rec.spans.filter((s) => s.kind === 'transaction').length,
    cpuS: (cpu.user + cpu.system) / 1e6,
    maxRssMb: maxRssMb(),
    peakPlanMb: rss.peakMb(planStart, planEnd),
    peakDeliveryMb: rss.peakMb(planEnd, end),
  };
});
