/**
 * The large diff: only the plan step (src/sync/plan.ts buildPlan) on DuckDB, against a snapshot
 * of n rows and a source with 1% changed, 0.5% added and 0.5% removed.
 *
 * Besides buildPlan itself, it times variants of the same plan SQL that differ in one respect
 * (the hash function, or which columns the join carries) and the cost of each ingredient
 * alone, so the report can say what the time goes to and what change would meet the target.
 *
 *   node dist/bench/sync/diff.js --dir DIR --rows N --setup
 *   node dist/bench/sync/diff.js --dir DIR --rows N --variant NAME [--memory-limit 256MB]
 */
import { performance } from 'node:perf_hooks';
import { compileProject } from '../../src/compiler/compile.js';
import { buildPlan, opCase, type PlanCounts } from '../../src/sync/plan.js';
import { loadSyncs, type ResolvedSync } from '../../src/sync/spec.js';
import { ensureSyncTables, syncTables } from '../../src/sync/state.js';
import { openWarehouse, type TargetConfig } from '../../src/warehouse/registry.js';
import type { Dialect, Warehouse } from '../../src/warehouse/types.js';
import { argValue, childMain } from './child.js';
import { RssSampler, maxRssMb } from './instrument.js';
import { DIFF_SYNC, VARIANTS, createDiffSourceSql, diffShape, previousRowsSql, type Variant } from './project.js';


export interface DiffMeasurement {
  variant: Variant;
  memoryLimit?: string;
  planS: number;
  /** CPU seconds of the process (all DuckDB threads) during the step: less sensitive than wall time to other load. */
  cpuS: number;
  counts?: PlanCounts;
  maxRssMb: number;
  peakSampledMb: number;
  /** Only for `costs`: seconds per ingredient. */
  costs?: Record<string, number>;
}

const VARIANT_SCHEMA = 'bench_diff';
const VARIANT_SNAPSHOT = `${VARIANT_SCHEMA}.snapshot_variants`;

interface Ctx {
  wh: Warehouse;
  d: Dialect;
  sync: ResolvedSync;
  n: number;
  /** The engine's JSON of the mapped fields, exactly as plan.ts builds it. */
  fieldsJson: string;
  columns: string[];
}

async function open(dir: string, n: number): Promise<Ctx> {
  const compiled = await compileProject({ projectDir: dir });
  const sync = (await loadSyncs(compiled)).find((s) => s.spec.name === DIFF_SYNC);
  if (!sync) throw new Error(`no sync ${DIFF_SYNC}`);
  const wh = await openWarehouse(compiled.target.settings as TargetConfig);
  const d = wh.dialect;
  // Same construction as buildPlan: fields sorted by name, columns quoted.
  const pairs = Object.entries(sync.spec.fields).sort(([a], [b]) => a.localeCompare(b)).map(([f, c]): [string, string] => [f, d.quoteIdent(c)]);
  return { wh, d, sync, n, fieldsJson: d.jsonObject(pairs), columns: pairs.map(([, c]) => c) };
}

const stateTables = (ctx: Ctx) => syncTables('cdp_state', ctx.sync.spec.name);

async function setup(ctx: Ctx): Promise<void> {
  const { wh, d, n } = ctx;
  const t = stateTables(ctx);
  for (const rel of [t.snapshot, t.pending, t.plan]) await wh.execute(d.drop(rel, 'table'));
  await ensureSyncTables(wh, t);
  for (const sql of createDiffSourceSql(n)) await wh.execute(sql);
  // The engine's own snapshot table (with its primary key), filled as a previous run would have.
  await wh.execute(`INSERT INTO ${d.relation(t.snapshot)} (key, row_hash, fields, delivered_at) SELECT key, ${d.rowHash(ctx.columns)}, fields, ${d.currentTimestamp()} FROM (${previousRowsSql(n, ctx.fieldsJson)})`);
  // The same rows hashed every other way, for the variants (a plain table: the plan never uses the key index).
  await wh.execute(`create schema if not exists ${VARIANT_SCHEMA}`);
  await wh.execute(
    `create or replace table ${VARIANT_SNAPSHOT} as select key, fields, sha256(fields) as h_sha256, md5(fields) as h_md5, ` +
      `cast(hash(fields) as varchar) as h_hash64, cast(hash(${ctx.columns.join(', ')}) as varchar) as h_lean, hash(${ctx.columns.join(', ')}) as h_lean64 ` +
      `from (${previousRowsSql(n, ctx.fieldsJson)})`,
  );
}

/** The engine's plan SQL (plan.ts, incremental case) with the snapshot and hash swapped in. */
function replicaSql(ctx: Ctx, target: string, hashCol: string, hashOf: (fields: string) => string): string {
  const { d, sync } = ctx;
  const t = stateTables(ctx);
  const snap = `(select key, ${hashCol} as row_hash, fields from ${VARIANT_SNAPSHOT})`;
  const known =
    `(select key, row_hash, fields from ${snap} as s0\n` +
    ` union all select p.key, '' as row_hash, max(p.fields) as fields from ${d.relation(t.pending)} p\n` +
    ` where not exists (select 1 from ${snap} s where s.key = p.key) group by p.key)`;
  return (
    `create or replace table ${target} as\n` +
    `with src as (select ${d.cast(d.quoteIdent(sync.spec.key), 'text')} as key, ${ctx.fieldsJson} as fields from ${d.relation(sync.relation)}),\n` +
    `hashed as (select key, fields, ${hashOf('fields')} as row_hash from src),\n` +
    `diff as (\n` +
    `  select coalesce(h.key, p.key) as key,\n` +
    `    case when h.key is null then 'remove' when p.key is null or p.row_hash = '' then 'add' else 'change' end as change,\n` +
    `    coalesce(h.row_hash, p.row_hash) as row_hash, coalesce(h.fields, p.fields) as fields\n` +
    `  from hashed h full outer join ${known} p on h.key = p.key\n` +
    `  where p.key is null or h.key is null or h.row_hash <> p.row_hash\n` +
    `)\n` +
    `select key, change, ${opCase(sync.spec.mode)} as op, row_hash, fields from diff`
  );
}

/**
 * The proposed plan: a 64-bit hash of the columns (no JSON, no sha256 per source row), a join
 * that carries only (key, row_hash), and the fields JSON built afterwards for the changed rows.
 */
function leanSql(ctx: Ctx, target: string, native: boolean): string {
  const { d, sync } = ctx;
  const t = stateTables(ctx);
  const key = (alias: string) => d.cast(`${alias}.${d.quoteIdent(sync.spec.key)}`, 'text');
  const snap = `(select key, ${native ? 'h_lean64' : 'h_lean'} as row_hash, fields from ${VARIANT_SNAPSHOT})`;
  const hash = (cols: string) => (native ? `hash(${cols})` : `cast(hash(${cols}) as varchar)`);
  // A pending row's hash is unknown: NULL (native) or '' (text, as the engine does today).
  const unknown = native ? 'cast(null as ubigint)' : "''";
  const isUnknown = native ? 'p.row_hash is null' : "p.row_hash = ''";
  const pending = d.relation(t.pending);
  const known =
    `(select key, row_hash, fields from ${snap} as s0\n` +
    ` union all select p.key, ${unknown} as row_hash, max(p.fields) as fields from ${pending} p\n` +
    ` where not exists (select 1 from ${snap} s where s.key = p.key) group by p.key)`;
  return (
    `create or replace table ${target} as\n` +
    `with hashed as (select ${key('r')} as key, ${hash(ctx.columns.map((c) => `r.${c}`).join(', '))} as row_hash from ${d.relation(sync.relation)} r),\n` +
    `diff as (\n` +
    `  select coalesce(h.key, p.key) as key,\n` +
    `    case when h.key is null then 'remove' when p.key is null or ${isUnknown} then 'add' else 'change' end as change,\n` +
    `    coalesce(h.row_hash, p.row_hash) as row_hash\n` +
    `  from hashed h full outer join (select key, row_hash from ${known} k) p on h.key = p.key\n` +
    `  where p.key is null or h.key is null or h.row_hash is distinct from p.row_hash\n` +
    `),\n` +
    // Fields only for the 2% that changed: from the source, or for removals from what was
    // delivered. IN (...) makes the small diff the hash join's build side, so neither the
    // source nor the snapshot's fields are ever held in memory, and the JSON is built only
    // for those rows.
    `with_fields as (\n` +
    `  select ${key('r')} as key, ${ctx.fieldsJson} as fields from ${d.relation(sync.relation)} r where ${key('r')} in (select key from diff where change <> 'remove')\n` +
    `  union all select key, fields from ${known} k where key in (select key from diff where change = 'remove')\n` +
    `)\n` +
    `select x.key, x.change, ${opCase(sync.spec.mode)} as op, x.row_hash, f.fields\n` +
    `from diff x join with_fields f on f.key = x.key`
  );
}

async function countPlan(wh: Warehouse, table: string): Promise<PlanCounts> {
  const rows = await wh.query<{ change: string; op: string; n: number }>(`select change, op, count(*) as n from ${table} group by change, op`);
  const c: PlanCounts = { add: 0, change: 0, remove: 0, skip: 0, total: 0 };
  for (const r of rows) {
    c.total += Number(r.n);
    if (r.op === 'skip') c.skip += Number(r.n);
    else c[r.change as 'add' | 'change' | 'remove'] += Number(r.n);
  }
  return c;
}

async function timeCosts(ctx: Ctx): Promise<Record<string, number>> {
  const { wh, d, sync } = ctx;
  const src = d.relation(sync.relation);
  const snap = d.relation(stateTables(ctx).snapshot);
  const t = async (sql: string) => {
    const s = performance.now();
    await wh.query(sql);
    return (performance.now() - s) / 1000;
  };
  return {
    'scan source (count)': await t(`select count(*) from ${src}`),
    'fields JSON': await t(`select max(length(${ctx.fieldsJson})) from ${src}`),
    'JSON + sha256': await t(`select max(${d.sha256(ctx.fieldsJson)}) from ${src}`),
    'JSON + md5': await t(`select max(md5(${ctx.fieldsJson})) from ${src}`),
    'JSON + hash()': await t(`select max(hash(${ctx.fieldsJson})) from ${src}`),
    'hash(columns)': await t(`select max(hash(${ctx.columns.join(', ')})) from ${src}`),
    'full outer join on key, nothing carried': await t(`select count(*) from ${src} h full outer join ${snap} p on h.profile_id = p.key`),
    'same join carrying the hash': await t(`select max(p.row_hash) from ${src} h full outer join ${snap} p on h.profile_id = p.key`),
    'same join carrying the hash and fields': await t(`select max(p.row_hash), max(p.fields) from ${src} h full outer join ${snap} p on h.profile_id = p.key`),
  };
}

async function measure(ctx: Ctx, variant: Variant, memoryLimit: string | undefined): Promise<DiffMeasurement> {
  const { wh, d } = ctx;
  if (memoryLimit) await wh.execute(`SET memory_limit = ${d.quoteString(memoryLimit)}`);
  const rss = new RssSampler();
  rss.start();
  const target = `${VARIANT_SCHEMA}.plan_${variant}`;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let counts: PlanCounts | undefined;
  let costs: Record<string, number> | undefined;
  switch (variant) {
    case 'engine':
      counts = await buildPlan(wh, ctx.sync, stateTables(ctx), false);
      break;
    case 'costs':
      costs = await timeCosts(ctx);
      break;
    default: {
      const sql = variant === 'lean' || variant === 'lean64' ? leanSql(ctx, target, variant === 'lean64')
        : variant === 'sha256' ? replicaSql(ctx, target, 'h_sha256', (f) => d.sha256(f))
        : variant === 'md5' ? replicaSql(ctx, target, 'h_md5', (f) => `md5(${f})`)
        : replicaSql(ctx, target, 'h_hash64', (f) => `cast(hash(${f}) as varchar)`);
      await wh.execute(sql);
      counts = await countPlan(wh, target);
    }
  }
  const planS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  rss.stop();
  await wh.execute(d.drop(stateTables(ctx).plan, 'table'));
  await wh.execute(`drop table if exists ${target}`);
  if (counts) {
    const want = diffShape(ctx.n);
    if (counts.add !== want.add || counts.change !== want.change || counts.remove !== want.remove) {
      throw new Error(`variant ${variant}: plan ${JSON.stringify(counts)} differs from the data's ${JSON.stringify(want)}`);
    }
  }
  return { variant, memoryLimit, planS, cpuS: (cpu.user + cpu.system) / 1e6, counts, costs, maxRssMb: maxRssMb(), peakSampledMb: rss.peakMb() };
}

childMain(async (): Promise<DiffMeasurement | { setupS: number }> => {
  const args = process.argv.slice(2);
  const ctx = await open(argValue(args, '--dir')!, Number(argValue(args, '--rows')));
  try {
    if (args.includes('--setup')) {
      const s = performance.now();
      await setup(ctx);
      return { setupS: (performance.now() - s) / 1000 };
    }
    const variant = argValue(args, '--variant') as Variant;
    if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`);
    return await measure(ctx, variant, argValue(args, '--memory-limit'));
  } finally {
    await ctx.wh.close();
  }
});
