/**
 * `cdp sync run | ls | status` and `cdp serve`.
 */
import { Cron } from 'croner';
import { compileProject, type CompiledProject } from '../compiler/compile.js';
import { CdpError, EXIT_FAILURE, EXIT_OK } from '../errors.js';
import { redact } from '../project/secrets.js';
import { openTargetWarehouse } from '../runner/run.js';
import type { SyncRunResult } from '../sync/engine.js';
import { describeOutcome, pickSyncs, runSyncs, syncStatus } from '../sync/runner.js';
import { loadSyncs, type ResolvedSync } from '../sync/spec.js';
import type { Warehouse } from '../warehouse/types.js';
import type { GlobalOptions } from './program.js';
import { formatTable, formatValue } from './table.js';

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const info = (o: GlobalOptions, s: string) => (o.json ? process.stderr : process.stdout).write(`${s}\n`);

async function prepare(o: GlobalOptions): Promise<{ compiled: CompiledProject; syncs: ResolvedSync[] }> {
  const compiled = await compileProject({ projectDir: o.projectDir, target: o.target, vars: o.vars });
  return { compiled, syncs: await loadSyncs(compiled) };
}

async function withWarehouse<T>(compiled: CompiledProject, o: GlobalOptions, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await openTargetWarehouse(compiled, o.target);
  try {
    await wh.ping();
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** Stops after the batches in flight on the first SIGTERM/SIGINT; a second one exits at once. */
function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: string) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${name}: finishing the batches in flight, then stopping (again to quit at once)\n`);
    controller.abort();
  };
  const term = () => onSignal('SIGTERM');
  const int = () => onSignal('SIGINT');
  process.on('SIGTERM', term);
  process.on('SIGINT', int);
  return { signal: controller.signal, dispose: () => { process.off('SIGTERM', term); process.off('SIGINT', int); } };
}

function renderSample(r: SyncRunResult): string {
  if (!r.sample?.length) return '';
  return `\n${formatTable(r.sample.map((s) => ({ change: s.change, op: s.op, key: s.key, fields: s.fields.join(', ') })), '  ')}`;
}

export async function commandSyncRun(o: GlobalOptions, names: string[], flags: { all?: boolean; dryRun?: boolean; fullResync?: boolean }): Promise<number> {
  const { compiled, syncs } = await prepare(o);
  if (!flags.all && names.length === 0) throw new CdpError('name a sync or pass --all', { hint: `syncs: ${syncs.map((s) => s.spec.name).join(', ') || 'none (add syncs/*.yml)'}` });
  const chosen = flags.all ? syncs.filter((s) => s.spec.enabled) : pickSyncs(syncs, names);
  const stop = stopOnSignals();
  try {
    const outcomes = await withWarehouse(compiled, o, (wh) =>
      runSyncs(compiled, wh, chosen, { dryRun: flags.dryRun, fullResync: flags.fullResync, stop: stop.signal }, (out) => {
        if (!o.json) print(describeOutcome(out) + (out.result ? renderSample(out.result) : ''));
      }));
    if (o.json) print(JSON.stringify(outcomes.map((x) => ({ sync: x.sync, ...(x.result ?? {}), error: x.error ? redact(x.error.message) : undefined }))));
    return outcomes.some((x) => x.error) ? EXIT_FAILURE : EXIT_OK;
  } finally {
    stop.dispose();
  }
}

export async function commandSyncLs(o: GlobalOptions): Promise<number> {
  const { syncs } = await prepare(o);
  const rows = syncs.map((s) => ({
    name: s.spec.name,
    source: `${s.spec.source.kind}:${s.spec.source.name}`,
    destination: `${s.spec.destinationName} (${s.destinationType})`,
    mode: s.spec.mode,
    schedule: s.spec.schedule.kind === 'cron' ? `cron ${s.spec.schedule.cron}` : s.spec.schedule.kind === 'after_build' ? 'after build' : 'manual',
    enabled: s.spec.enabled,
  }));
  if (o.json) print(JSON.stringify(rows));
  else print(rows.length ? formatTable(rows) : 'no syncs (add syncs/*.yml)');
  return EXIT_OK;
}

export async function commandSyncStatus(o: GlobalOptions, names: string[]): Promise<number> {
  const { compiled, syncs } = await prepare(o);
  const chosen = names.length ? pickSyncs(syncs, names) : syncs;
  const status = await withWarehouse(compiled, o, (wh) => syncStatus(wh, compiled.project.config.stateSchema, chosen));
  if (o.json) {
    print(JSON.stringify(status));
    return EXIT_OK;
  }
  for (const s of status) {
    print(`${s.sync}: ${s.open_rejections} open rejection${s.open_rejections === 1 ? '' : 's'}`);
    print(s.runs.length ? formatTable(s.runs.map((r) => ({ started: formatValue(r.started_at), status: r.status, planned: r.planned, added: r.added, changed: r.changed, removed: r.removed, rejected: r.rejected, requests: r.requests })), '  ') : '  no runs yet');
    if (s.rejections.length) print(`  open rejections:\n${formatTable(s.rejections.map((r) => ({ key: r.key, op: r.op, reason: r.reason, attempts: r.attempts, last_seen: formatValue(r.last_seen) })), '    ', 60)}`);
    print('');
  }
  return EXIT_OK;
}

/** Long-lived: runs cron-scheduled syncs, never two runs of one sync at once, stops gracefully. */
export async function commandServe(o: GlobalOptions): Promise<number> {
  const { compiled, syncs } = await prepare(o);
  const scheduled = syncs.filter((s) => s.spec.enabled && s.spec.schedule.kind === 'cron');
  if (!scheduled.length) throw new CdpError('no sync has a cron schedule', { hint: 'add schedule: { cron: "0 * * * *" } to a sync in syncs/*.yml' });
  const stop = stopOnSignals();
  const running = new Map<string, Promise<void>>();
  const jobs = scheduled.map((sync) => {
    const schedule = sync.spec.schedule as { cron: string; timezone?: string };
    return new Cron(schedule.cron, { timezone: schedule.timezone, protect: true }, () => {
      if (stop.signal.aborted || running.has(sync.spec.name)) return;
      const run = withWarehouse(compiled, o, (wh) => runSyncs(compiled, wh, [sync], { stop: stop.signal }, (out) => info(o, `${new Date().toISOString()} ${describeOutcome(out)}`)))
        .then(() => undefined, (err: unknown) => { info(o, `${new Date().toISOString()} FAIL ${sync.spec.name}: ${redact(err instanceof Error ? err.message : String(err))}`); })
        .finally(() => running.delete(sync.spec.name));
      running.set(sync.spec.name, run);
    });
  });
  info(o, `serving ${scheduled.length} scheduled sync${scheduled.length === 1 ? '' : 's'}: ${scheduled.map((s) => `${s.spec.name} (${(s.spec.schedule as { cron: string }).cron})`).join(', ')}`);
  await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  for (const job of jobs) job.stop();
  await Promise.all(running.values());
  stop.dispose();
  info(o, 'stopped');
  return EXIT_OK;
}
