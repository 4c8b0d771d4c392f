/**
 * Identity benchmark: the demo population end to end on DuckDB (extract, encode, components,
 * limit tiers, write back, golden record) for both component engines, plus a long chain on
 * each engine. Every measured step runs in a fresh child process so that peak RSS (which
 * includes DuckDB's buffers) belongs to that step alone.
 *
 *   npm run build && node dist/bench/identity/run.js [--people N] [--engines local,sql] [--skip-chain]
 *     [--chain-length 100000] [--skip-rerun] [--reload]
 *
 * Data is generated once per size under bench/.work/identity-<N>/ and loaded once into
 * warehouse.duckdb there (`--reload` loads again); the load is reported but not measured as
 * identity work.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineName } from '../../src/identity/components.js';
import { openWarehouse } from '../../src/warehouse/registry.js';
import { runChain, type ChainResult } from './chain.js';
import { ensureDemoData, loadWarehouse, type DataInfo, type LoadTimes } from './data.js';
import { loadSpecs, runIdentity, samePartition, stateSchemaOf, type IdentityRunResult } from './identity-run.js';
import { TimedWarehouse } from './timed-warehouse.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const work = path.join(repo, 'bench/.work');
const RESULT = '__RESULT__ ';

interface Args {
  people: number;
  engines: EngineName[];
  skipChain: boolean;
  skipRerun: boolean;
  reload: boolean;
  chainLength: number;
  task?: string;
  engine?: EngineName;
  schema?: string;
  compareWith?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { people: 1_000_000, engines: ['local', 'sql'], skipChain: false, skipRerun: false, reload: false, chainLength: 100_000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--people': args.people = Number(value()); break;
      case '--engines': args.engines = value().split(',').map((e) => e.trim()) as EngineName[]; break;
      case '--skip-chain': args.skipChain = true; break;
      case '--skip-rerun': args.skipRerun = true; break;
      case '--reload': args.reload = true; break;
      case '--chain-length': args.chainLength = Number(value()); break;
      case '--task': args.task = value(); break;
      case '--engine': args.engine = value() as EngineName; break;
      case '--schema': args.schema = value(); break;
      case '--compare-with': args.compareWith = value(); break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!Number.isInteger(args.people) || args.people < 1) throw new Error('--people must be a positive whole number');
  for (const e of args.engines) if (e !== 'local' && e !== 'sql') throw new Error(`unknown engine ${e}`);
  return args;
}

const dataDir = (people: number) => path.join(work, `identity-${people}`);
const dbPath = (people: number) => path.join(dataDir(people), 'warehouse.duckdb');
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/**
 * A fingerprint of the code and specs a run executes. Other work may rebuild dist/ while a long
 * benchmark runs; comparing fingerprints across the child processes catches a mixed result.
 */
function codeFingerprint(): string {
  const hash = createHash('sha256');
  const dirs = ['dist/src/identity', 'dist/src/materializations', 'dist/src/golden', 'dist/adapters/warehouse/duckdb', 'models/identity'];
  for (const dir of dirs) {
    const abs = path.join(repo, dir);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs).filter((n) => /\.(js|ya?ml)$/.test(n)).sort()) hash.update(`${dir}/${f}\0`).update(readFileSync(path.join(abs, f)));
  }
  return hash.digest('hex').slice(0, 12);
}

function gitVersion(): string {
  const git = (...a: string[]) => execFileSync('git', ['-C', repo, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const dirty = git('status', '--porcelain', '--', 'src', 'adapters', 'models').split('\n').filter(Boolean).length;
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + ${dirty} uncommitted file(s) under src/, adapters/, models/` : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

// ---------------------------------------------------------------- child tasks

async function childTask(args: Args): Promise<unknown> {
  switch (args.task) {
    case 'load': {
      rmSync(dbPath(args.people), { force: true });
      rmSync(`${dbPath(args.people)}.wal`, { force: true });
      const info = JSON.parse(readFileSync(path.join(dataDir(args.people), 'generated.json'), 'utf8')) as DataInfo;
      const wh = await openWarehouse({ type: 'duckdb', path: dbPath(args.people) });
      try {
        return { ...(await loadWarehouse(wh, info)), rssMb: peakRssMb() };
      } finally {
        await wh.close();
      }
    }
    case 'identity': {
      const fileMb = () => statSync(dbPath(args.people)).size / 2 ** 20;
      const dbMbBefore = fileMb();
      const wh = new TimedWarehouse(await openWarehouse({ type: 'duckdb', path: dbPath(args.people) }));
      try {
        const result = await runIdentity(wh, loadSpecs(repo), args.engine!, args.schema!);
        const rssMb = peakRssMb();
        const dbMbAfter = fileMb();
        const partition = args.compareWith ? await samePartition(wh, args.compareWith, args.schema!, 'customer') : undefined;
        return { ...result, rssMb, dbMbBefore, dbMbAfter, partition, loadavg: os.loadavg()[0] };
      } finally {
        await wh.close();
      }
    }
    case 'reset': {
      const wh = await openWarehouse({ type: 'duckdb', path: dbPath(args.people) });
      try {
        for (const schema of [args.schema!, stateSchemaOf(args.schema!)]) await wh.execute(`drop schema if exists ${wh.dialect.quoteIdent(schema)} cascade`);
        return {};
      } finally {
        await wh.close();
      }
    }
    case 'chain': {
      const wh = await openWarehouse({ type: 'duckdb', path: ':memory:' });
      try {
        const results: ChainResult[] = [];
        // Each engine on its own so the RSS reading is not shared; sql first: it is the one under test.
        for (const engine of args.engines) results.push(...(await runChain(wh, args.chainLength, [engine], loadSpecs(repo).identity.maxRounds)));
        return { results, rssMb: peakRssMb() };
      } finally {
        await wh.close();
      }
    }
    default:
      throw new Error(`unknown task ${args.task}`);
  }
}

// ---------------------------------------------------------------- orchestration

function child<T>(taskArgs: string[]): T {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...taskArgs], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20,
  });
  const line = out.split('\n').find((l) => l.startsWith(RESULT));
  if (!line) throw new Error(`child ${taskArgs.join(' ')} printed no result:\n${out}`);
  return JSON.parse(line.slice(RESULT.length)) as T;
}

const log = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

type IdentityChildResult = IdentityRunResult & { code: string; rssMb: number; dbMbBefore: number; dbMbAfter: number; loadavg: number; partition?: { same: boolean; profilesA: number; profilesB: number; pairs: number } };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.task) {
    const code = codeFingerprint();
    const result = await childTask(args);
    process.stdout.write(`${RESULT}${JSON.stringify({ ...(result as object), code })}\n`);
    return;
  }
  const { people } = args;
  const cpus = os.cpus();
  const machine = `${cpus.length} cores (${cpus[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}`;
  const loadAtStart = os.loadavg();
  const code = codeFingerprint();
  const version = `${gitVersion()}, code fingerprint ${code}`;
  log(`machine: ${machine}; load average ${loadAtStart.map(f2).join(' ')}; ${version}`);

  log(`demo data for ${int(people)} people`);
  const info = await ensureDemoData(work, people);
  log(`data: ${Object.values(info.rows).reduce((a, b) => a + b, 0)} raw rows (generated in ${f1(info.generateSeconds)} s)`);

  const loadMarker = path.join(dataDir(people), 'loaded.json');
  let load: LoadTimes & { rssMb: number; dbMb?: number };
  if (!args.reload && existsSync(loadMarker) && existsSync(dbPath(people))) {
    load = JSON.parse(readFileSync(loadMarker, 'utf8'));
    log('warehouse already loaded (use --reload to load again)');
  } else {
    log('loading the warehouse with read_csv');
    load = child(['--task', 'load', '--people', String(people)]);
    // Measured right after loading: later runs grow the file with their outputs and caches.
    load.dbMb = statSync(dbPath(people)).size / 2 ** 20;
    writeFileSync(loadMarker, JSON.stringify(load, null, 2));
  }
  const dbMb = load.dbMb ?? statSync(dbPath(people)).size / 2 ** 20;

  const runs: { label: string; r: IdentityChildResult }[] = [];
  const identity = (label: string, engine: EngineName, schema: string, compareWith?: string) => {
    log(`identity: ${label}`);
    const r = child<IdentityChildResult>(['--task', 'identity', '--people', String(people), '--engine', engine, '--schema', schema, ...(compareWith ? ['--compare-with', compareWith] : [])]);
    log(`  ${f1(r.phases.total)} s (${f1(r.cpuSeconds)} s CPU), ${int(r.stats.edges)} edges, ${r.stats.component_runs} component runs, ${r.stats.rounds} rounds, ${int(r.rssMb)} MB peak RSS, DuckDB file ${int(r.dbMbBefore)} → ${int(r.dbMbAfter)} MB, load average ${f2(r.loadavg)}`);
    runs.push({ label, r });
  };
  const schemaOf = (e: EngineName) => `bench_${e}`;
  // First runs: no previous outputs in their schemas, so both engines do the same work.
  for (const e of args.engines) child(['--task', 'reset', '--people', String(people), '--schema', schemaOf(e)]);
  args.engines.forEach((e, i) => identity(`${e}, first run (cold)`, e, schemaOf(e), i > 0 ? schemaOf(args.engines[0]) : undefined));
  if (!args.skipRerun) for (const e of args.engines) identity(`${e}, re-run (same data)`, e, schemaOf(e));
  const mixed = runs.filter(({ r }) => r.code !== code);

  type ChainChild = { results: ChainResult[]; rssMb: number };
  let chain: ChainChild | undefined;
  if (!args.skipChain) {
    log(`chain of ${int(args.chainLength)} nodes`);
    chain = child<ChainChild>(['--task', 'chain', '--people', String(people), '--chain-length', String(args.chainLength), '--engines', [...args.engines].reverse().join(',')]);
    for (const c of chain.results) log(`  ${c.engine}: ${c.rounds} rounds, ${f2(c.seconds)} s, correct: ${c.correct}`);
  }

  const first = runs[0]?.r;
  const lines: string[] = [];
  const loadAtEnd = os.loadavg();
  lines.push(`Code: ${version}.${mixed.length ? ` WARNING: the code changed during the benchmark (${mixed.map((m) => m.label).join(', ')} ran ${[...new Set(mixed.map((m) => m.r.code))].join(', ')}); these figures mix versions.` : ''}`);
  lines.push(`Machine: ${machine}; DuckDB default threads (one per core). Load average (1/5/15 min) at start ${loadAtStart.map(f2).join(' / ')}, at end ${loadAtEnd.map(f2).join(' / ')}.`, '');
  lines.push('| people | raw records | edges | edges / person | generate CSV (s) | read_csv (s) | staging (s) | DuckDB file after load (MB) |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  const records = Object.values(info.rows).reduce((a, b) => a + b, 0);
  lines.push(`| ${int(people)} | ${int(records)} | ${first ? int(first.stats.edges) : '-'} | ${first ? f1(first.stats.edges / people) : '-'} | ${f1(info.generateSeconds)} | ${f1(load.readCsvSeconds)} | ${f1(load.stagingSeconds)} | ${int(dbMb)} |`);
  lines.push('');
  lines.push('| run | extract (s) | encode (s) | components (s) | limit tiers (s) | outputs (s) | golden (s) | scratch drop (s) | **total (s)** | CPU (s) | peak RSS (MB) | component runs | rounds | profiles | largest profile | values normalised | DuckDB file before → after (MB) | load avg after |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { label, r } of runs) {
    const p = r.phases;
    lines.push(`| ${label} | ${f1(p.extract)} | ${f1(p.encode)} | ${f1(p.components)} | ${f1(p.tiers)} | ${f1(p.outputs)} | ${f1(p.golden)} | ${f1(p.cleanup)} | **${f1(p.total)}** | ${f1(r.cpuSeconds)} | ${int(r.rssMb)} | ${r.stats.component_runs} | ${r.stats.rounds} | ${int(r.stats.profiles)} | ${int(r.stats.largest_profile)} | ${int(r.stats.normalised_values ?? 0)} | ${int(r.dbMbBefore)} → ${int(r.dbMbAfter)} | ${f1(r.loadavg)} |`);
  }
  if (first) {
    lines.push('');
    lines.push(`Records ${int(first.stats.records)}, raw identifiers ${int(first.stats.raw_identifiers)} (${int(first.stats.empty_values)} empty), edges ${int(first.stats.edges)}; ` +
      `rejected: ${Object.entries(first.stats.rejected).map(([k, v]) => `${k} ${int(v)}`).join(', ') || 'none'}; unresolved limit violations ${first.stats.unresolved_limit_violations}; golden rows ${int(first.goldenRows)}.`);
  }
  for (const { label, r } of runs) {
    if (r.partition) lines.push(`Partition ${label} vs ${runs[0].label}: ${r.partition.same ? 'identical' : 'DIFFERENT'} (${int(r.partition.profilesA)} vs ${int(r.partition.profilesB)} profiles, ${int(r.partition.pairs)} pairs).`);
  }
  if (chain) {
    lines.push('');
    lines.push('| chain length | engine | rounds | wall (s) | correct |');
    lines.push('|---:|---|---:|---:|---|');
    for (const c of chain.results) lines.push(`| ${int(c.length)} | ${c.engine} | ${c.rounds} | ${f2(c.seconds)} | ${c.correct ? 'yes' : 'NO'} |`);
  }
  const report = lines.join('\n');
  console.log(report);
  console.log('\nSlowest statements per run:');
  for (const { label, r } of runs) {
    console.log(`- ${label}`);
    for (const s of r.slowest) console.log(`    ${f2(s.seconds)} s  ${s.sql}`);
  }
  writeFileSync(path.join(dataDir(people), 'results.json'), JSON.stringify({ machine, info, load, runs, chain }, null, 2));
  writeFileSync(path.join(dataDir(people), 'results.md'), `${report}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
