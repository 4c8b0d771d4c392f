/**
 * Every SQL statement the framework would send for the demo project, per dialect, without a
 * warehouse: the project is compiled for a target of that type and then built, tested and
 * synced against a RecordingWarehouse, twice (a first build into an empty warehouse, then a
 * rebuild where everything exists, which takes the incremental, cache and previous-run paths).
 * Also the compiled SQL kept as reviewed golden files.
 */
import { cacheSpecHash as pipelineCacheSpecHash } from '../../src/identity/pipeline.js';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { compileProject, type CompiledProject } from '../../src/compiler/compile.js';
import type { GraphNode } from '../../src/compiler/graph.js';
import type { Destination, SyncMode } from '../../src/destination/types.js';
import type { IdentityNodeSpec } from '../../src/materializations/identity-graph.js';
import { executeNode } from '../../src/runner/execute.js';
import { IDENTITY_OUTPUTS, outputName } from '../../src/identity/spec.js';
import { HISTORY_TABLE, SIZES_TABLE } from '../../src/segments/history.js';
import { segmentInfo, isSegment } from '../../src/segments/node.js';
import { runSync } from '../../src/sync/engine.js';
import { loadSyncs } from '../../src/sync/spec.js';
import { dialectFor } from '../../src/warehouse/registry.js';
import type { Dialect, LogicalType, Relation, RelationInfo, RelationKind, Row } from '../../src/warehouse/types.js';
import { RecordingWarehouse, type RecordedStatement } from './recording-warehouse.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO_FILES = ['cdp.config.yaml', 'models', 'macros', 'seeds', 'syncs'];

/** Target name per warehouse type in the copied demo config. */
export const TARGET_OF: Record<string, string> = { duckdb: 'dev', postgres: 'postgres', bigquery: 'bigquery', snowflake: 'snowflake' };

const EXTRA_TARGETS: Record<string, Record<string, unknown>> = {
  bigquery: { type: 'bigquery', project: 'demo', dataset: 'analytics' },
  snowflake: { type: 'snowflake', account: 'demo', user: 'u', database: 'DEMO', schema: 'analytics', warehouse: 'WH' },
};

/** Fixed, so that everything but wall-clock timestamps is reproducible. */
const RUN_ID = '00000000-0000-4000-8000-000000000000';

export interface CollectedStatement {
  /** What produced it: the build step, sync run or dialect sample. */
  origin: string;
  /** The module that generated the text (`src/...:line`), or the Dialect method for samples. */
  generator: string;
  /** With `$n` parameters replaced by literals. */
  sql: string;
  /** How many times the same text was sent. */
  count: number;
}

const copies = new Map<string, string>();

/**
 * The demo project copied to a temp dir, with bigquery and snowflake targets added to its
 * config; with `coverage`, plus tests/dialect/coverage/ on top (SQL paths the demo does not take).
 */
export function demoProjectCopy(coverage = false): string {
  const key = coverage ? 'coverage' : 'demo';
  const existing = copies.get(key);
  if (existing) return existing;
  const dir = mkdtempSync(path.join(tmpdir(), `cdp-dialect-${key}-`));
  for (const f of DEMO_FILES) cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
  if (coverage) {
    for (const f of ['models', 'syncs']) cpSync(path.join(REPO, 'tests/dialect/coverage', f), path.join(dir, f), { recursive: true });
  }
  const configFile = path.join(dir, 'cdp.config.yaml');
  const doc = parseDocument(readFileSync(configFile, 'utf8'));
  for (const [name, target] of Object.entries(EXTRA_TARGETS)) doc.setIn(['targets', name], doc.createNode(target));
  writeFileSync(configFile, doc.toString());
  copies.set(key, dir);
  return dir;
}

/** The dialect of a warehouse type, or the reason there is none yet. */
export async function tryDialect(type: string): Promise<{ dialect?: Dialect; reason?: string }> {
  try {
    return { dialect: await dialectFor(type) };
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}

export async function compileDemo(type: string, opts: { coverage?: boolean } = {}): Promise<CompiledProject> {
  return compileProject({ projectDir: demoProjectCopy(opts.coverage), target: TARGET_OF[type] });
}

// ---------------------------------------------------------------------------------------------
// Golden files

/** Compiled SQL of the demo, by path under tests/dialect/golden/<type>/. */
export function goldenFiles(compiled: CompiledProject): Map<string, string> {
  const out = new Map<string, string>();
  const put = (file: string, sql: string) => out.set(file, sql.endsWith('\n') ? sql : `${sql}\n`);
  for (const id of compiled.order) {
    const node = compiled.graph.get(id);
    if (node.compiledSql === undefined) continue;
    if (node.resourceType === 'test') put(`tests/${node.name}.sql`, node.compiledSql);
    else if (node.golden) put(`golden/${node.name}.sql`, node.compiledSql);
    else if (isSegment(node)) put(`segments/${node.name}.sql`, node.compiledSql);
    else {
      put(`models/${node.name}.sql`, node.compiledSql);
      if (node.config.materialized === 'incremental') put(`models/${node.name}.incremental.sql`, compiled.renderModel(node, true));
    }
  }
  put('dialect/samples.sql', dialectSamples(compiled.dialect).map((s) => `-- ${s.generator}\n${s.sql.trimEnd()};\n`).join('\n'));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dialect samples: what the materializations emit through the Dialect, on sample relations

const LOGICAL_TYPES: LogicalType[] = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'text', 'date', 'timestamp', 'json'];

export function dialectSamples(d: Dialect): { generator: string; sql: string }[] {
  const rel: Relation = { schema: 'analytics', name: 'orders' };
  const staging: Relation = { schema: 'analytics', name: 'orders__cdp_tmp' };
  const select = 'select 1 as id, \'a\' as name';
  const out: { generator: string; sql: string }[] = [];
  const add = (method: string, sql: string | string[]) => {
    for (const s of Array.isArray(sql) ? sql : [sql]) out.push({ generator: `Dialect.${method}`, sql: s });
  };
  add('createSchema', d.createSchema('analytics'));
  add('createTableAs', d.createTableAs(staging, `${select};\n`));
  add('createView', d.createView(rel, select));
  add('createTable', d.createTable(staging, LOGICAL_TYPES.map((t) => ({ name: `c_${t}`, type: t }))));
  add('drop', d.drop(rel, 'table'));
  add('drop', d.drop(rel, 'view'));
  add('rename', d.rename(staging, 'table', rel.name));
  add('mergeInto', d.mergeInto(rel, staging, ['id'], ['id', 'name', 'amount']));
  add('mergeInto', d.mergeInto(rel, staging, ['id', 'day'], ['id', 'day', 'amount']));
  add('mergeInto', d.mergeInto(rel, staging, ['id'], ['id']));
  const t = d.relation(rel);
  const c = (n: string) => d.quoteIdent(n);
  const expr = (method: string, e: string) => add(method, `select ${e} as v from ${t}`);
  expr('currentTimestamp', d.currentTimestamp());
  expr('sha256', d.sha256(c('name')));
  for (const type of LOGICAL_TYPES) expr(`cast(${type})`, d.cast(type === 'json' ? d.quoteString('{"a": 1}') : c('name'), type));
  add('arrayAgg', `select ${c('id')}, ${d.arrayAgg(c('name'), c('name'))} as v from ${t} group by ${c('id')}`);
  add('arrayAgg', `select ${c('id')}, ${d.arrayAgg(c('name'))} as v from ${t} group by ${c('id')}`);
  expr('regexpMatches', d.regexpMatches(c('name'), d.quoteString('^[a-z]+$')));
  expr('regexpReplace', d.regexpReplace(c('name'), d.quoteString('[^0-9]'), d.quoteString('')));
  expr('newUuid', d.newUuid());
  for (const unit of ['minute', 'hour', 'day', 'week', 'month', 'year'] as const) expr(`timestampMinus(${unit})`, d.timestampMinus(d.currentTimestamp(), 3, unit));
  expr('jsonObject', d.jsonObject([['email', c('name')], ['first name', d.cast(c('id'), 'text')]]));
  add('nullSafeEquals', `select 1 as v from ${t} as a join ${t} as b on ${d.nullSafeEquals('a.id', 'b.id')}`);
  add('quoteString', `select ${d.quoteString("it's a \\ test\nline")} as v`);
  // Reserved words and spaces only: sqlfluff 1.4.5 lexes neither BigQuery's \` escapes nor
  // Snowflake's "" inside quoted identifiers, though both warehouses accept them.
  add('quoteIdent', `select 1 as ${c('select')}, 2 as ${c('first name')}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Driving the pipelines against a RecordingWarehouse

/** Columns every relation reports: those identity specs and rule segments look for, plus profile_id. */
function neededColumns(compiled: CompiledProject): string[] {
  const cols = new Set<string>(['profile_id']);
  for (const node of compiled.graph.nodes.values()) {
    const ident = node.identity as IdentityNodeSpec | undefined;
    for (const s of ident?.sources ?? []) {
      cols.add(s.key);
      for (const c of Object.values(s.ids)) cols.add(c);
      if (s.updatedAt) cols.add(s.updatedAt);
    }
    if (isSegment(node)) for (const c of segmentInfo(node).runtimeCheck?.columns ?? []) cols.add(c.name);
  }
  return [...cols];
}

/** The relations a complete build leaves behind, with their kinds. */
function builtRelations(compiled: CompiledProject): RelationInfo[] {
  const out: RelationInfo[] = [];
  const add = (rel: Relation, kind: RelationKind) => out.push({ ...rel, kind });
  const state = compiled.project.config.stateSchema;
  for (const node of compiled.graph.nodes.values()) {
    if (!node.relation || node.resourceType === 'source' || node.resourceType === 'test') continue;
    add(node.relation, node.config.materialized === 'view' ? 'view' : 'table');
    const ident = node.identity as IdentityNodeSpec | undefined;
    if (ident) {
      for (const o of IDENTITY_OUTPUTS) add({ schema: node.relation.schema, name: outputName(ident.spec.entity, o) }, o === 'edges' ? 'view' : 'table');
      for (const suffix of ['values', 'meta']) add({ schema: ident.stateSchema, name: `${ident.spec.entity}_identity_cache_${suffix}` }, 'table');
    }
  }
  for (const name of [HISTORY_TABLE, SIZES_TABLE]) add({ schema: state, name }, 'table');
  return out;
}

/** The identity cache's spec hash, as src/identity/pipeline.ts computes it: lets the rebuild take the cache path. */
function cacheSpecHash(ident: IdentityNodeSpec): string {
  return pipelineCacheSpecHash(ident.spec, ident.sources);
}

function nodesToRun(compiled: CompiledProject): GraphNode[] {
  return compiled.order.map((id) => compiled.graph.get(id))
    .filter((n) => n.resourceType === 'test' || n.resourceType === 'seed' || (n.resourceType === 'model' && n.relation !== undefined));
}

async function buildAll(compiled: CompiledProject, wh: RecordingWarehouse, pass: string, onBuilt?: (n: GraphNode) => void): Promise<void> {
  const targetDir = path.join(compiled.project.config.dir, 'target');
  for (const node of nodesToRun(compiled)) {
    const what = node.resourceType === 'test' ? 'test' : `build (${String(node.config.materialized)})`;
    const outcome = await wh.during(`${pass}: ${what} ${node.id} [${node.path}]`, () =>
      executeNode({ compiled, warehouse: wh, runId: RUN_ID, fullRefresh: false, targetDir }, node));
    if (outcome.status === 'error') throw new Error(`${pass}: ${node.id} did not run against the recording warehouse: ${outcome.message}`);
    onBuilt?.(node);
  }
}

/** Accepts everything; keys missing from the result count as delivered. */
function acceptingDestination(modes: SyncMode[]): Destination {
  return {
    type: 'recording',
    capabilities: { modes, batchSize: 100, concurrency: 1, supportsRemoval: true, identifiers: [] },
    send: async () => [],
  };
}

/**
 * Records what a first build and a rebuild of the demo send, plus the syncs and the dialect
 * samples. Statements are deduplicated by text; parameters become literals.
 */
export async function collectStatements(compiled: CompiledProject): Promise<CollectedStatement[]> {
  const d = compiled.dialect;
  const columns = neededColumns(compiled);
  const all = builtRelations(compiled);
  const recorded: RecordedStatement[] = [];

  // First build: relations exist once built, as they would in an empty warehouse.
  const built = new Set<string>();
  const first = new RecordingWarehouse(d, {
    columns: () => columns,
    relations: (schema) => all.filter((r) => r.schema === schema && built.has(`${r.schema}.${r.name}`)),
  });
  await buildAll(compiled, first, 'first build', (node) => {
    for (const r of all) {
      const sameNode = node.relation && r.schema === node.relation.schema && (r.name === node.relation.name || (node.identity && r.name.startsWith(`${(node.identity as IdentityNodeSpec).spec.entity}_`)));
      if (sameNode) built.add(`${r.schema}.${r.name}`);
    }
  });
  recorded.push(...first.statements);

  // Rebuild: everything exists. Identity graphs run on the SQL component engine, reuse the
  // normalisation cache and see one limit violation, so every step of resolve() is recorded.
  const specHashes = new Map<string, string>();
  const cacheReads: string[] = [];
  const originals = new Map<GraphNode, IdentityNodeSpec>();
  for (const node of compiled.graph.nodes.values()) {
    const ident = node.identity as IdentityNodeSpec | undefined;
    if (!ident) continue;
    const cache = (suffix: string) => d.relation({ schema: ident.stateSchema, name: `${ident.spec.entity}_identity_cache_${suffix}` });
    specHashes.set(cache('meta'), cacheSpecHash(ident));
    cacheReads.push(`join ${cache('values')} m on m.id_type = d.id_type`);
    originals.set(node, ident);
    node.identity = { ...ident, spec: { ...ident.spec, engine: 'sql' } } satisfies IdentityNodeSpec;
  }
  const violationsSeen = new Set<string>();
  const nonEmptySeen = new Set<string>();
  let planStreamed = false;
  const second = new RecordingWarehouse(d, {
    columns: () => columns,
    relations: (schema) => all.filter((r) => r.schema === schema),
    answer: (sql) => {
      const cache = /^select spec_hash from (.+)$/.exec(sql);
      if (cache) return [{ spec_hash: specHashes.get(cache[1]) ?? null }];
      // One violating component per scratch table of violations, then none: the loop ends.
      const violations = /^select count\(\*\) as n from \(select 1 from (\S*__cdp_violations\S*)\) as t$/i.exec(sql);
      if (violations && !violationsSeen.has(sql)) {
        violationsSeen.add(sql);
        return [{ n: 1 }];
      }
      // Something to cut and a value new to the cache, so those statements are recorded too.
      const nonEmpty = /^select count\(\*\) as n from \(select 1 from (\S*__cdp_(?:cut_nodes|values)\S*)(?: where fresh)?\) as t$/i.exec(sql);
      if (nonEmpty) {
        nonEmptySeen.add(nonEmpty[1]!.toLowerCase().includes('__cdp_values') ? 'fresh' : 'cut_nodes');
        return [{ n: 1 }];
      }
      // The plan holds one change that needs no request and one that does.
      if (/group by change, op$/.test(sql)) return [{ change: 'remove', op: 'skip', n: 1 }, { change: 'add', op: 'add', n: 1 }];
      return undefined;
    },
    streamRows: (sql) => {
      if (!/^select seq, key, change, op, fields from \S+ where op <> 'skip'$/.test(sql)) return [];
      planStreamed = true;
      return [{ seq: 1, key: 'k1', change: 'add', op: 'add', fields: '{"email":"a@example.com"}' } satisfies Row];
    },
  });
  try {
    await buildAll(compiled, second, 'rebuild');
  } finally {
    for (const [node, ident] of originals) node.identity = ident;
  }
  // The canned answers follow the SQL text of src/identity/pipeline.ts; if it changes, say so
  // rather than silently checking less.
  if (originals.size && violationsSeen.size === 0) throw new Error('the rebuild never reached the identity limit checks: update the canned answers in tests/dialect/statements.ts');
  if (originals.size && nonEmptySeen.size < 2) throw new Error(`the rebuild never reached the identity ${nonEmptySeen.has('fresh') ? 'limit cut' : 'cache update'}: update the canned answers in tests/dialect/statements.ts (${d.name}: ${[...nonEmptySeen]})`);
  if (!cacheReads.every((read) => second.statements.some((s) => s.sql.includes(read)))) throw new Error('the rebuild did not reuse the identity normalisation cache: update cacheSpecHash in tests/dialect/statements.ts');

  // Syncs, after the rebuild: a plain run, a full resync and a dry run each.
  const syncs = await loadSyncs(compiled);
  for (const sync of syncs) {
    const dest = acceptingDestination([sync.spec.mode]);
    for (const [label, opts] of [['run', {}], ['full resync', { fullResync: true }], ['dry run', { dryRun: true }]] as const) {
      await second.during(`sync ${sync.spec.name} (${label}) [syncs/${path.basename(sync.spec.file)}]`, () => runSync(second, sync, dest, compiled.project.config.stateSchema, opts));
    }
  }
  if (syncs.length === 0) throw new Error('the demo project has no syncs: nothing exercises src/sync');
  if (!planStreamed) throw new Error('no sync streamed its plan, so delivery and commit SQL went unchecked: update streamRows in tests/dialect/statements.ts');
  recorded.push(...second.statements);

  const out = new Map<string, CollectedStatement>();
  const push = (origin: string, generator: string, sql: string) => {
    const prior = out.get(sql);
    if (prior) prior.count++;
    else out.set(sql, { origin, generator, sql, count: 1 });
  };
  for (const s of dialectSamples(d)) push('dialect sample', s.generator, s.sql);
  for (const s of recorded) push(s.origin, s.generator, stable(bindLiterals(s.sql, s.params.map(stableParam), d)));
  return [...out.values()];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Run ids, host and pid vary per run: fixed values keep statements comparable across runs. */
function stableParam(value: unknown): unknown {
  if (value === hostname()) return 'host';
  if (value === process.pid) return 1;
  if (value instanceof Date) return new Date(0);
  return typeof value === 'string' ? value.replace(UUID, RUN_ID) : value;
}

/** The same for ids and build times written into the SQL text itself. */
function stable(sql: string): string {
  return sql.replace(UUID, RUN_ID).replace(/'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}'/g, "'2026-01-01 00:00:00.000'");
}

// ---------------------------------------------------------------------------------------------
// Parameters

function literal(value: unknown, d: Dialect): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return d.cast(d.quoteString(value.toISOString().replace('T', ' ').replace('Z', '')), 'timestamp');
  return d.quoteString(String(value));
}

/**
 * Replaces `$1`, `$2`, ... outside string literals, quoted identifiers and comments with the
 * bound values as literals: the parser checks the statement the warehouse would run.
 */
export function bindLiterals(sql: string, params: unknown[], d: Dialect): string {
  if (params.length === 0 && !sql.includes('$')) return sql;
  // BigQuery and Snowflake strings take backslash escapes; DuckDB and PostgreSQL strings do not.
  const backslashEscapes = d.name === 'bigquery' || d.name === 'snowflake';
  let out = '';
  for (let i = 0; i < sql.length; ) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < sql.length) {
        if (ch === "'" && backslashEscapes && sql[j] === '\\') j += 2;
        else if (sql[j] === ch && sql[j + 1] === ch) j += 2;
        else if (sql[j] === ch) break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end === -1 ? sql.length : end;
      out += sql.slice(i, j);
      i = j;
    } else if (ch === '$' && /\d/.test(sql[i + 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const m = /^\$(\d+)/.exec(sql.slice(i))!;
      const n = Number(m[1]);
      if (n < 1 || n > params.length) throw new Error(`parameter $${n} has no value (${params.length} given) in: ${sql}`);
      out += literal(params[n - 1], d);
      i += m[0].length;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
