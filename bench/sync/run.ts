/**
 * Sync benchmark: an N-member audience synced to a local webhook sink (first sync, a re-sync
 * after 1% of the emails change, a no-op re-sync), then the plan step alone on a large diff.
 *
 *   npm run build && node dist/bench/sync/run.js [--members N] [--diff-rows N] [--repeats R] [--keep]
 *
 * The sink runs in a child process; every measured step runs in a fresh process of its own
 * (sync-run.js, diff.js) so its peak RSS is the engine's alone. This process only prepares
 * data, checks the sink's final state against the source after each sync, and reports.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, resolveTarget } from '../../src/project/config.js';
import { openWarehouse, type TargetConfig } from '../../src/warehouse/registry.js';
import type { Warehouse } from '../../src/warehouse/types.js';
import { argValue, runChild } from './child.js';
import type { DiffMeasurement } from './diff.js';
import { BATCH_SIZE, CONCURRENCY, MEMBERS, MEMBERS_SYNC, SCHEMA, VARIANTS, changeMembersSql, createMembersSql, writeBenchProject, type Variant } from './project.js';
import type { SinkRequest, SinkStats } from './sink.js';
import type { SyncMeasurement } from './sync-run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

class Sink {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  static start(): Promise<Sink> {
    const child = fork(path.join(here, 'sink.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      child.once('message', (m: { type: string; url: string }) => (m.type === 'ready' ? resolve(new Sink(child, m.url)) : reject(new Error(`sink: ${JSON.stringify(m)}`))));
      child.once('exit', (code) => reject(new Error(`sink exited (${code})`)));
    });
  }

  private ask<T>(req: SinkRequest, answer: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const on = (m: { type: string; stats?: SinkStats; message?: string }) => {
        if (m.type === 'error') reject(new Error(`sink: ${m.message}`));
        else if (m.type === answer) resolve(m as T);
        else return;
        this.child.off('message', on);
      };
      this.child.on('message', on);
      this.child.send(req);
    });
  }

  async stats(): Promise<SinkStats> {
    return (await this.ask<{ stats: SinkStats }>({ type: 'stats' }, 'stats')).stats;
  }

  async dump(file: string): Promise<void> {
    await this.ask({ type: 'dump', file }, 'dumped');
  }

  stop(): void {
    this.child.kill();
  }
}

interface Args {
  members: number;
  diffRows: number;
  repeats: number;
  keep: boolean;
  /** The DuckDB target's memory_limit in the bench project (every step's process). */
  memoryLimit?: string;
  /** Sets DuckDB's checkpoint_threshold in the engine's process (bench-only, like memoryLimit). */
  checkpointThreshold?: string;
  /** --max-old-space-size for the sync runs' Node processes, in MB. */
  maxOldSpace?: number;
  /** Diff variants to run (all by default). */
  variants?: string[];
}

function parseArgs(argv: string[]): Args {
  const num = (name: string, fallback: number) => {
    const v = argValue(argv, name);
    const n = v === undefined ? fallback : Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got ${v}`);
    return n;
  };
  return { members: num('--members', 1_000_000), diffRows: num('--diff-rows', 10_000_000), repeats: Math.max(1, num('--repeats', 1)), keep: argv.includes('--keep'), memoryLimit: argValue(argv, '--memory-limit'), checkpointThreshold: argValue(argv, '--checkpoint-threshold'), maxOldSpace: num('--max-old-space', 0) || undefined, variants: argValue(argv, '--variants')?.split(',') };
}

/**
 * The bench's own setup and checks, in this process: without the target's memory_limit, which
 * is the engine's budget (measured in the child processes), not the checking code's.
 */
async function withWarehouse<T>(dir: string, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const { memory_limit: _engineBudget, ...settings } = resolveTarget(loadConfig(dir), undefined).settings as TargetConfig & { memory_limit?: string };
  const wh = await openWarehouse(settings as TargetConfig);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** The sink's members against the source, both ways, inside DuckDB. */
async function verify(dir: string, sink: Sink): Promise<{ missing: number; extra: number; sinkKeys: number; snapshotRows: number }> {
  const file = path.join(dir, 'sink-state.csv');
  await sink.dump(file);
  return withWarehouse(dir, async (wh) => {
    const d = wh.dialect;
    const src = `(select profile_id, email, first_name from ${SCHEMA}.${MEMBERS})`;
    const got = `(select * from read_csv(${d.quoteString(file)}, header = true, columns = {'profile_id': 'VARCHAR', 'email': 'VARCHAR', 'first_name': 'VARCHAR'}))`;
    const [r] = await wh.query<{ missing: number; extra: number; sink_keys: number; snapshot_rows: number }>(
      `select (select count(*) from (select * from ${src} except select * from ${got})) as missing,` +
        ` (select count(*) from (select * from ${got} except select * from ${src})) as extra,` +
        ` (select count(*) from ${got}) as sink_keys,` +
        ` (select count(*) from cdp_state.sync_${MEMBERS_SYNC}_snapshot) as snapshot_rows`,
    );
    rmSync(file, { force: true });
    return { missing: Number(r.missing), extra: Number(r.extra), sinkKeys: Number(r.sink_keys), snapshotRows: Number(r.snapshot_rows) };
  });
}

interface SyncRow {
  scenario: string;
  m: SyncMeasurement;
  sinkRequests: number;
  sinkOps: number;
  maxBatch: number;
  check: Awaited<ReturnType<typeof verify>>;
}

const failures: string[] = [];
function expect(ok: boolean, what: string): void {
  if (!ok) failures.push(what);
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function syncScenarios(args: Args, dir: string, sink: Sink): Promise<SyncRow[]> {
  const n = args.members;
  const t = Date.now();
  await withWarehouse(dir, async (wh) => {
    for (const sql of createMembersSql(n)) await wh.execute(sql);
  });
  console.error(`[sync] ${int(n)} members created in ${f1((Date.now() - t) / 1000)} s`);

  const rows: SyncRow[] = [];
  const run = async (scenario: string) => {
    const before = await sink.stats();
    const m = await runChild<SyncMeasurement>('sync-run.js', ['--dir', dir, '--sync', MEMBERS_SYNC, ...(args.checkpointThreshold ? ['--checkpoint-threshold', args.checkpointThreshold] : [])], args.maxOldSpace ? [`--max-old-space-size=${args.maxOldSpace}`] : []);
    const after = await sink.stats();
    const check = await verify(dir, sink);
    const row = { scenario, m, sinkRequests: after.requests - before.requests, sinkOps: after.operations - before.operations, maxBatch: after.maxBatch, check };
    rows.push(row);
    console.error(`[sync] ${scenario}: ${m.result.message}; runSync ${f2(m.wallS)} s (plan ${f2(m.planS)} s), maxRSS ${f1(m.maxRssMb)} MB`);
    expect(m.result.status === 'success', `${scenario}: status ${m.result.status} (${m.result.message})`);
    expect(check.missing === 0 && check.extra === 0, `${scenario}: sink differs from the source (${check.missing} missing or stale, ${check.extra} extra)`);
    expect(check.snapshotRows === n, `${scenario}: snapshot has ${check.snapshotRows} rows, source ${n}`);
    expect(row.sinkRequests === m.result.requests, `${scenario}: engine counted ${m.result.requests} requests, sink saw ${row.sinkRequests}`);
    expect(after.problems === 0, `${scenario}: sink refused ${after.problems} requests`);
    expect(after.maxBatch <= BATCH_SIZE, `${scenario}: a batch of ${after.maxBatch} exceeds ${BATCH_SIZE}`);
    return row;
  };

  const first = await run('first sync');
  expect(first.m.result.added === n && first.m.result.requests === Math.ceil(n / BATCH_SIZE), `first sync: ${first.m.result.added} added in ${first.m.result.requests} requests`);

  const changed = n > 1 ? Math.floor((n - 2) / 100) + 1 : 0; // rows with i % 100 = 1
  await withWarehouse(dir, (wh) => wh.execute(changeMembersSql(1)));
  const change = await run('re-sync after 1% changed');
  expect(change.m.result.changed === changed && change.sinkOps === changed, `1% re-sync: ${change.m.result.changed} changed, ${change.sinkOps} sent; expected ${changed}`);

  const noop = await run('no-op re-sync');
  expect(noop.m.result.requests === 0 && noop.sinkRequests === 0, `no-op re-sync sent ${noop.sinkRequests} requests`);
  return rows;
}

interface DiffRun {
  variant: Variant;
  memoryLimit?: string;
}

const DIFF_RUNS: DiffRun[] = [
  { variant: 'engine' },
  { variant: 'engine', memoryLimit: '256MB' },
  { variant: 'engine', memoryLimit: '1GB' },
  { variant: 'sha256' },
  { variant: 'md5' },
  { variant: 'hash64' },
  { variant: 'lean' },
  { variant: 'lean', memoryLimit: '256MB' },
  { variant: 'lean64' },
  { variant: 'costs' },
];

type DiffOutcome = DiffMeasurement | { error: string };

async function diffScenario(args: Args, dir: string): Promise<{ setupS: number; results: DiffOutcome[][] }> {
  const rowsArg = ['--dir', dir, '--rows', String(args.diffRows)];
  const { setupS } = await runChild<{ setupS: number }>('diff.js', [...rowsArg, '--setup']);
  console.error(`[diff] ${int(args.diffRows)} rows and snapshots prepared in ${f1(setupS)} s`);
  const results: DiffOutcome[][] = DIFF_RUNS.map(() => []);
  // The engine alone unless asked: the other variants compare designs (see VARIANTS).
  const chosen = (run: DiffRun) => (args.variants ?? ['engine']).includes(run.variant);
  // Rounds interleave the variants so that load from other processes spreads over all of them.
  for (let r = 0; r < args.repeats; r++) {
    for (const [i, run] of DIFF_RUNS.entries()) {
      if (!chosen(run)) continue;
      const label = `${run.variant}${run.memoryLimit ? ` (memory_limit ${run.memoryLimit})` : ''}`;
      try {
        const m = await runChild<DiffMeasurement>('diff.js', [...rowsArg, '--variant', run.variant, ...(run.memoryLimit ? ['--memory-limit', run.memoryLimit] : [])]);
        results[i].push(m);
        console.error(`[diff] ${label}: ${f2(m.planS)} s (CPU ${f1(m.cpuS)} s), maxRSS ${f1(m.maxRssMb)} MB`);
      } catch (err) {
        // A variant that runs out of memory under a limit is a result, not a reason to stop.
        const error = /Error: ([^\n]*)/.exec((err as Error).message)?.[1] ?? (err as Error).message;
        results[i].push({ error });
        console.error(`[diff] ${label}: FAILED ${error}`);
      }
    }
  }
  return { setupS, results };
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}`;
}

const loadavg = () => os.loadavg().map((x) => x.toFixed(1)).join(' / ');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = path.join(repo, 'bench/.work', `sync-${args.members}-${args.diffRows}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const loadBefore = loadavg();
  const sink = await Sink.start();
  const out: string[] = [];
  let duckdbVersion = '';
  try {
    writeBenchProject(dir, sink.url, args.memoryLimit);
    duckdbVersion = await withWarehouse(dir, (wh) => wh.ping());
    const syncRows = args.members ? await syncScenarios(args, dir, sink) : [];
    const diff = args.diffRows ? await diffScenario(args, dir) : undefined;

    out.push(`machine: ${machine()}, ${duckdbVersion}`);
    out.push(`load average (1/5/15 min) before: ${loadBefore}, after: ${loadavg()}`);
    out.push(`webhook: batch_size ${BATCH_SIZE}, concurrency ${CONCURRENCY}, mode audience, sink in a child process on 127.0.0.1; DuckDB target memory_limit: ${args.memoryLimit ?? 'default (80% of RAM)'}, checkpoint_threshold: ${args.checkpointThreshold ?? 'default (16MB)'}, Node max-old-space-size: ${args.maxOldSpace ? `${args.maxOldSpace} MB` : 'default'}`, '');
    if (syncRows.length) {
      out.push('| scenario | rows | wall s | rows/s | requests | peak RSS MB |', '|---|---:|---:|---:|---:|---:|');
      for (const r of syncRows) {
        const sent = r.m.result.added + r.m.result.changed + r.m.result.removed;
        out.push(`| ${r.scenario} (${int(args.members)} members) | ${int(sent)} | ${f2(r.m.wallS)} | ${sent ? int(sent / r.m.wallS) : '—'} | ${r.m.result.requests} | ${f1(r.m.maxRssMb)} |`);
      }
      out.push('', 'Where runSync\'s time goes (seconds; `send` is summed over requests, up to 4 overlap; pending/confirm/commit run one at a time):', '');
      out.push('| scenario | pre-plan | plan | delivery | delivery rows/s | send Σ | pending load Σ | confirm load Σ | commit tx Σ | batches | CPU s | RSS plan / delivery MB | startup s |');
      out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const r of syncRows) {
        const m = r.m;
        const sent = m.result.added + m.result.changed + m.result.removed;
        out.push(`| ${r.scenario} | ${f2(m.prePlanS)} | ${f2(m.planS)} | ${f2(m.deliveryS)} | ${sent ? int(sent / m.deliveryS) : '—'} | ${f2(m.sendS)} | ${f2(m.pendingLoadS)} | ${f2(m.confirmLoadS)} | ${f2(m.commitTxS)} | ${m.batches} | ${f1(m.cpuS)} | ${f1(m.peakPlanMb)} / ${f1(m.peakDeliveryMb)} | ${f2(m.startupS)} |`);
      }
      out.push('', 'Inside the commit transactions (seconds summed over batches), commit growth, and DuckDB\'s own memory after the run:', '');
      for (const r of syncRows) {
        const m = r.m;
        if (!m.batches) continue;
        const stmts = Object.entries(m.txStatements).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f2(v)}`).join(', ');
        const mem = Object.entries(m.duckdbMemoryMb).slice(0, 4).map(([k, v]) => `${k} ${f1(v)}`).join(', ');
        out.push(`- ${r.scenario}: ${stmts}; commit per batch ${int(m.commitTxFirstMs)} ms (first tenth) -> ${int(m.commitTxLastMs)} ms (last tenth); DuckDB MB: ${mem || 'n/a'}`);
      }
      out.push('', `JS heap + Buffers at the RSS peak / highest: ${syncRows.map((r) => `${r.scenario} ${f1(r.m.jsAtPeakMb)} / ${f1(r.m.jsMaxMb)} MB`).join('; ')} (the rest of RSS is native: DuckDB and the binary).`);
      out.push('', `Sink state after each run equals the source (${syncRows.map((r) => `${r.scenario}: ${r.check.missing} missing, ${r.check.extra} extra`).join('; ')}).`);
    }
    if (diff) {
      out.push('', `Plan only, ${int(args.diffRows)} rows (1% changed, 0.5% added, 0.5% removed = ${int(args.diffRows / 50)} operations), ${args.repeats} run(s) each, median [all]:`, '');
      out.push('| plan variant | memory_limit | plan s | CPU s | operations | peak RSS MB |', '|---|---|---:|---:|---:|---:|');
      for (const [i, run] of DIFF_RUNS.entries()) {
        if (run.variant === 'costs' || !diff.results[i].length) continue;
        const ms = diff.results[i].filter((m): m is DiffMeasurement => !('error' in m));
        const failed = diff.results[i].filter((m): m is { error: string } => 'error' in m);
        const times = ms.map((m) => m.planS);
        const timeCell = ms.length ? `${f2(median(times))} [${times.map(f2).join(', ')}]` : '—';
        const note = failed.length ? ` (${failed.length} failed: ${failed[0].error.slice(0, 80)})` : '';
        out.push(`| ${run.variant}${note} | ${run.memoryLimit ?? args.memoryLimit ?? 'default'} | ${timeCell} | ${ms.length ? f1(median(ms.map((m) => m.cpuS))) : '—'} | ${ms.length ? int(ms[0].counts?.total ?? 0) : '—'} | ${ms.length ? f1(median(ms.map((m) => m.maxRssMb))) : '—'} |`);
      }
      const costs = diff.results[DIFF_RUNS.findIndex((r) => r.variant === 'costs')].filter((m): m is DiffMeasurement => !('error' in m));
      out.push('', 'Variants:', ...DIFF_RUNS.filter((r, i) => r.variant !== 'costs' && diff.results[i].length && !r.memoryLimit).map((r) => `- ${r.variant}: ${VARIANTS[r.variant]}`));
      if (costs.length) {
        out.push('', `Ingredients over the ${int(args.diffRows)}-row source, each alone (seconds, median):`, '');
        out.push('| query | s |', '|---|---:|');
        for (const k of Object.keys(costs[0].costs ?? {})) out.push(`| ${k} | ${f2(median(costs.map((c) => c.costs![k])))} |`);
      }
    }
    console.log(out.join('\n'));
    writeFileSync(path.join(repo, 'bench/.work', `sync-results-${args.members}-${args.diffRows}.md`), `${out.join('\n')}\n`);
    if (failures.length) {
      console.log(`\nCHECKS FAILED:\n- ${failures.join('\n- ')}`);
      process.exitCode = 1;
    }
  } finally {
    sink.stop();
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
