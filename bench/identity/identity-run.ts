/**
 * One end-to-end identity run, step for step what the `identity_graph` and `golden_record`
 * materializations do (src/materializations/identity-graph.ts, golden-record.ts), with the
 * wall time of each phase. Phases inside `resolve()` (encode, components, limit tiers) are
 * cut out of the statement timeline, so src/identity needs no instrumentation.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { GoldenSpec } from '../../src/golden/spec.js';
import { validateGoldenSpec } from '../../src/golden/spec.js';
import { buildOutputs, installOutputs } from '../../src/identity/outputs.js';
import { IdentityPipeline, type PipelineStats, type ResolvedSource } from '../../src/identity/pipeline.js';
import type { EngineName } from '../../src/identity/components.js';
import { outputName, parseIdentitySpec, type IdentityOutput, type IdentitySpec } from '../../src/identity/spec.js';
import { goldenSelect, type GoldenNodeSpec } from '../../src/materializations/golden-record.js';
import { buildTableAndSwap, ensureSchema, stagingRelation } from '../../src/materializations/swap.js';
import { parseYamlText } from '../../src/project/schema.js';
import type { Relation } from '../../src/warehouse/types.js';
import { STAGING_SCHEMA } from './data.js';
import { oneLine, type StatementEvent, type TimedWarehouse } from './timed-warehouse.js';

export interface Specs {
  identity: IdentitySpec;
  golden: GoldenSpec;
}

export function loadSpecs(repo: string): Specs {
  const idFile = path.join(repo, 'models/identity/customer.identity.yml');
  const identity = parseIdentitySpec(readFileSync(idFile, 'utf8'), idFile);
  const goldenFile = path.join(repo, 'models/identity/customer.golden.yml');
  const golden = parseYamlText(readFileSync(goldenFile, 'utf8'), goldenFile) as GoldenSpec;
  const issues = validateGoldenSpec(golden, identity.sources.map((s) => s.from));
  if (issues.length) throw new Error(`${goldenFile}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { identity, golden };
}

export interface PhaseTimes {
  extract: number;
  encode: number;
  components: number;
  tiers: number;
  outputs: number;
  golden: number;
  cleanup: number;
  total: number;
}

export interface IdentityRunResult {
  engine: EngineName;
  schema: string;
  phases: PhaseTimes;
  stats: PipelineStats & { merged: number; split: number };
  goldenRows: number;
  slowest: { seconds: number; sql: string }[];
  /** Every statement of the run in order, for digging into a phase. */
  statements: { at: number; seconds: number; cpu: number; kind: string; sql: string }[];
  /** User + system CPU of the whole process (DuckDB's threads included) during the run. */
  cpuSeconds: number;
}

const seconds = (ms: number) => ms / 1000;

export const stateSchemaOf = (schema: string) => `${schema}_state`;

/** The sources of the spec, resolved to the staging tables the benchmark loaded. */
function resolveSources(spec: IdentitySpec): ResolvedSource[] {
  return spec.sources.map((s) => ({ name: s.from, relation: { schema: STAGING_SCHEMA, name: s.from }, key: s.key, ids: s.ids, updatedAt: s.updatedAt }));
}

export async function runIdentity(wh: TimedWarehouse, specs: Specs, engine: EngineName, schema: string): Promise<IdentityRunResult> {
  const spec: IdentitySpec = { ...specs.identity, engine };
  const sources = resolveSources(spec);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await ensureSchema(wh, schema);
  const target = (o: IdentityOutput): Relation => ({ schema, name: outputName(spec.entity, o) });
  const staging = (o: IdentityOutput): Relation => stagingRelation(target(o), 'tmp');
  const stats: PipelineStats = {
    engine, records: 0, raw_identifiers: 0, normalised_values: 0, empty_values: 0, edges: 0, rejected: {}, component_runs: 0, rounds: 0,
    largest_profile: 0, profiles: 0, unresolved_limit_violations: 0,
  };
  // The normalisation cache lives in a state schema of its own per benchmark schema, so each
  // engine's first run is cold and its re-run finds only its own cache.
  const p = new IdentityPipeline({ wh, spec, sources, schema, stateSchema: stateSchemaOf(schema), fullRefresh: false });
  const marks: Record<string, number> = { start: t0 };
  let out: Awaited<ReturnType<typeof buildOutputs>>;
  try {
    const { records, classified } = await p.extract(stats);
    marks.extracted = performance.now();
    const resolved = await p.resolve(records, classified, stats);
    marks.resolved = performance.now();
    out = await buildOutputs(p, { records, classified, ...resolved }, target, staging, randomUUID());
    for (const row of await wh.query<{ reason: string; n: number }>(`select reason, count(*) as n from ${p.rel(staging('rejected_edges'))} group by reason order by reason`)) {
      stats.rejected[row.reason] = Number(row.n);
    }
    await p.settle();
    await installOutputs(wh, sources, target, staging);
    stats.profiles = out.profiles;
    stats.largest_profile = out.largest;
    marks.outputs = performance.now();
  } finally {
    await p.dropScratch();
  }
  marks.cleaned = performance.now();
  const g: GoldenNodeSpec = {
    spec: specs.golden,
    sourceRecords: target('source_records'),
    profiles: target('profiles'),
    sources: Object.fromEntries(sources.map((s) => [s.name, { relation: s.relation, key: s.key, updatedAt: s.updatedAt }])),
  };
  const goldenRows = await buildTableAndSwap(wh, { schema, name: specs.golden.name }, goldenSelect(g, wh.dialect));
  marks.golden = performance.now();
  const cpu = process.cpuUsage(cpu0);

  const resolveEvents = wh.since(marks.extracted).filter((e) => e.end <= marks.resolved).sort((a, b) => a.start - b.start);
  const { encode, components } = splitResolve(resolveEvents, spec.entity, marks.extracted);
  const resolveMs = marks.resolved - marks.extracted;
  const phases: PhaseTimes = {
    extract: seconds(marks.extracted - t0),
    encode: seconds(encode),
    components: seconds(components),
    tiers: seconds(resolveMs - encode - components),
    outputs: seconds(marks.outputs - marks.resolved),
    cleanup: seconds(marks.cleaned - marks.outputs),
    golden: seconds(marks.golden - marks.cleaned),
    total: seconds(marks.golden - t0),
  };
  const slowest = wh.since(t0)
    .sort((a, b) => (b.end - b.start) - (a.end - a.start)).slice(0, 8)
    .map((e) => ({ seconds: seconds(e.end - e.start), sql: oneLine(e.sql) }));
  const statements = wh.since(t0).sort((a, b) => a.start - b.start)
    .map((e) => ({ at: seconds(e.start - t0), seconds: seconds(e.end - e.start), cpu: e.cpu, kind: e.kind, sql: oneLine(e.sql, 240) }));
  // For studying one statement on its own: every statement in full, in the order it ran.
  if (process.env.CDP_BENCH_SQL_LOG) {
    writeFileSync(process.env.CDP_BENCH_SQL_LOG, wh.since(t0).sort((a, b) => a.start - b.start).map((e) => `-- ${seconds(e.end - e.start)} s\n${e.sql};\n`).join('\n'));
  }
  return {
    engine, schema, phases, stats: { ...stats, merged: out.merged, split: out.split }, goldenRows, slowest, statements,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * Encode: from the start of resolve() until the first limit-tier table (`rej_limit`) is made,
 * i.e. the edge table. (The integer numbering of identifiers and records' rows happens at the
 * end of extract(), because the degree caps work on it.) Components: for every engine
 * run, from the moment its input (`cc_edges`) exists until the labels are read back
 * (`comp_next`), which includes the union-find done in this process by the local engine.
 */
function splitResolve(events: StatementEvent[], entity: string, resolveStart: number): { encode: number; components: number } {
  // Scratch tables may carry a schema prefix (in DuckDB's scratch database): match the end.
  const name = (n: string) => `${entity}__cdp_${n}"`;
  // The local engine's tiers run in this process: from the read of the integer edges to the
  // load of the record labels, which the report shows as components (limit tiers then ~0).
  const read = events.find((e) => /^\s*select rec_id, id_node, tier from/i.test(e.sql));
  const loaded = events.find((e) => e.sql.startsWith('append int32 into') && e.sql.includes(name('comp')));
  if (read && loaded) return { encode: read.start - resolveStart, components: loaded.end - read.start };
  const firstTier = events.find((e) => e.sql.includes(name('rej_limit')));
  const encode = (firstTier ? firstTier.start : events.at(-1)?.end ?? resolveStart) - resolveStart;
  let components = 0;
  let engineStart: number | undefined;
  for (const e of events) {
    if (/^\s*create table/i.test(e.sql) && e.sql.includes(name('cc_edges'))) engineStart = e.end;
    else if (engineStart !== undefined && e.sql.includes(name('comp_next'))) {
      components += e.start - engineStart;
      engineStart = undefined;
    }
  }
  return { encode, components };
}

/** Whether two runs partitioned the records identically (profile IDs differ; the grouping must not). */
export async function samePartition(wh: TimedWarehouse, a: string, b: string, entity: string): Promise<{ same: boolean; profilesA: number; profilesB: number; pairs: number }> {
  const sr = (schema: string) => wh.dialect.relation({ schema, name: outputName(entity, 'source_records') });
  const [r] = await wh.query<{ pa: number; pb: number; pairs: number; ra: number; rb: number; joined: number }>(
    `select (select count(distinct profile_id) from ${sr(a)}) as pa, (select count(distinct profile_id) from ${sr(b)}) as pb,\n` +
    `  (select count(*) from ${sr(a)}) as ra, (select count(*) from ${sr(b)}) as rb,\n` +
    `  (select count(*) from (select distinct x.profile_id, y.profile_id from ${sr(a)} x join ${sr(b)} y on y.source = x.source and y.record_key = x.record_key) t) as pairs,\n` +
    `  (select count(*) from ${sr(a)} x join ${sr(b)} y on y.source = x.source and y.record_key = x.record_key) as joined`);
  const [pa, pb, pairs] = [Number(r.pa), Number(r.pb), Number(r.pairs)];
  return { same: pa === pb && pb === pairs && Number(r.ra) === Number(r.joined) && Number(r.rb) === Number(r.joined), profilesA: pa, profilesB: pb, pairs };
}
