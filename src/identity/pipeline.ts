/**
 * The identity pipeline, step by step, as SQL run in the warehouse (docs/identity.md).
 * Only integer edge pairs ever leave the warehouse (with the local component engine).
 */
import { createHash } from 'node:crypto';
import { CdpError, EXIT_FAILURE } from '../errors.js';
import { ensureSchema, existingKind } from '../materializations/swap.js';
import type { ColumnSpec, Dialect, Relation, RelationKind, Warehouse } from '../warehouse/types.js';
import { blockedSql } from './blocklist.js';
import { capOf, degreeCapSql } from './degree-caps.js';
import { engineFor, INT32_MAX, loadInt32Columns, readEdgeArrays, type ComponentStats, type EngineName } from './components.js';
import { isEmptySql, normalizeSql } from './normalize.js';
import { outputName, type IdTypeSpec, type IdentitySpec } from './spec.js';
import { LIMIT_ROUNDS, resolveLocal } from './tiers-in-memory.js';

export interface ResolvedSource {
  name: string;
  relation: Relation;
  key: string;
  ids: Record<string, string>;
  updatedAt?: string;
}

export interface PipelineContext {
  wh: Warehouse;
  spec: IdentitySpec;
  sources: ResolvedSource[];
  /** Schema for outputs and scratch tables. */
  schema: string;
  /** Schema for the framework's own tables (the normalisation cache); default: `schema`. */
  stateSchema?: string;
  /** Ignore the cache and normalise every record again. */
  fullRefresh?: boolean;
}

/**
 * The identifiers of every record after steps 1-4. `values` holds each distinct non-empty raw
 * value of this run (`id_type`, `raw_value`, `n` occurrences) with its normalisation outcome
 * (`id_value`, `reason`: invalid, blocklist or NULL, and whether this run normalised it,
 * `fresh`); `ids` numbers the accepted normalised values (`id_node`); `enc` holds every accepted
 * (record, identifier column) row as integers (`rec_id`, `id_node`, plus `id_type`, its `tier`
 * and the record's `updated_at`).
 */
export interface Classified {
  values: Relation;
  ids: Relation;
  enc: Relation;
}

export interface PipelineStats {
  engine: EngineName;
  records: number;
  raw_identifiers: number;
  /** Distinct identifier values normalised in this run (the rest came from the cache). */
  normalised_values?: number;
  /** Distinct identifier values whose outcome came from the cache. */
  cached_values?: number;
  empty_values: number;
  edges: number;
  rejected: Record<string, number>;
  component_runs: number;
  rounds: number;
  largest_profile: number;
  profiles: number;
  unresolved_limit_violations: number;
}

/** Above this many edges, `engine: auto` keeps the work in the warehouse. */
export const AUTO_LOCAL_MAX_EDGES = 50_000_000;

/**
 * What the normalisation cache depends on besides the records: a cache saved under another
 * hash is rebuilt. Bump `v` when a normaliser or the default blocklist changes.
 */
export function cacheSpecHash(spec: IdentitySpec, sources: ResolvedSource[]): string {
  return createHash('sha256').update(JSON.stringify({ types: spec.idTypes, sources: sources.map((s) => [s.name, s.ids]), defaults: spec.blocklistDefaults, v: 3 })).digest('hex');
}

/** Stands for a result of extract() asked for before it ran. */
const beforeExtract = (): Promise<never> => Promise.reject(new Error('identity pipeline: extract() has not run'));

/** The records table's column holding the raw values of the spec's k-th identifier type. */
const rawColumn = (k: number) => `raw_${k}`;

export class IdentityPipeline {
  readonly d: Dialect;
  private readonly created: { relation: Relation; kind: RelationKind }[] = [];

  constructor(private readonly ctx: PipelineContext) {
    this.d = ctx.wh.dialect;
  }

  get wh(): Warehouse {
    return this.ctx.wh;
  }

  get sources(): ResolvedSource[] {
    return this.ctx.sources;
  }

  private get stateSchema(): string {
    return this.ctx.stateSchema ?? this.ctx.schema;
  }

  /** Where the warehouse keeps scratch tables out of its persistent storage, if it can. */
  private scratchCatalog?: string;

  /** A scratch table of this run: in the warehouse's scratch database when it has one. */
  work(name: string): Relation {
    const base = `${this.ctx.spec.entity}__cdp_${name}`;
    // The scratch database is shared by every schema of the warehouse: the name carries the schema.
    return this.scratchCatalog ? { catalog: this.scratchCatalog, schema: 'main', name: `${this.ctx.schema}__${base}` } : { schema: this.ctx.schema, name: base };
  }

  rel(r: Relation): string {
    return this.d.relation(r);
  }

  lit(s: string): string {
    return this.d.quoteString(s);
  }

  q(c: string): string {
    return this.d.quoteIdent(c);
  }

  async create(r: Relation, select: string): Promise<Relation> {
    await this.ctx.wh.execute(this.d.drop(r, 'table'));
    await this.ctx.wh.execute(this.d.createTableAs(r, select));
    this.remember(r);
    return r;
  }

  async count(sql: string): Promise<number> {
    const [{ n }] = await this.ctx.wh.query<{ n: number }>(`select count(*) as n from (${sql}) as t`);
    return Number(n);
  }

  async dropScratch(): Promise<void> {
    // Background work may still read scratch tables; its outcome is reported by settle().
    await Promise.allSettled(this.background);
    // Views first: they read the tables.
    const ordered = [...this.created].sort((a, b) => Number(b.kind === 'view') - Number(a.kind === 'view'));
    for (const { relation, kind } of ordered) await this.ctx.wh.execute(this.d.drop(relation, kind)).catch(() => undefined);
  }

  /** Steps 1-4: records, raw identifiers, normalisation, blocklists and integer encoding. */
  async extract(stats: PipelineStats): Promise<{ records: Relation; classified: Classified }> {
    const { spec, sources } = this.ctx;
    this.scratchCatalog = await this.ctx.wh.scratchCatalog?.();
    // One read of the sources: every later step (normalisation, the cache, the outputs) works
    // from this snapshot, so all of them see the same version of each record. Identifier columns
    // become one text column per type (`raw_<k>`, in spec order), NULL where a source has no
    // column of that type.
    const read = `select source, record_key, updated_at, ${spec.idTypes.map((_, k) => rawColumn(k)).join(', ')} from (\n` + sources.map((s) =>
      `select ${this.lit(s.name)} as source, ${this.d.cast(this.q(s.key), 'text')} as record_key, ` +
      `${s.updatedAt ? this.d.cast(this.q(s.updatedAt), 'timestamp') : this.d.cast('null', 'timestamp')} as updated_at, ` +
      spec.idTypes.map((t, k) => `${this.d.cast(s.ids[t.name] ? this.q(s.ids[t.name]) : 'null', 'text')} as ${rawColumn(k)}`).join(', ') +
      ` from ${this.rel(s.relation)}`).join('\nunion all\n') + `\n) as r`;
    const records = await this.numberedRecords(read);
    this.records = records;
    // Checked alongside the next steps: a NULL or duplicate key fails the run before anything is
    // installed (an error of a later step, if one comes first, is reported instead).
    this.deferred.push(() => this.assertKeys(records));
    const perSource = await this.ctx.wh.query<{ source: string; n: number }>(`select source, count(*) as n from ${this.rel(records)} group by source`);
    stats.records = perSource.reduce((sum, r) => sum + Number(r.n), 0);

    // Normalisation is a function of the type and the raw value alone, so it runs once per
    // distinct raw value (1.9M of 10.6M rows on the benchmark) rather than once per row, and
    // its outcomes are what the cache keeps. Incremental runs take the outcome of every value
    // seen before from the cache and normalise only the others (those of new and changed
    // records); the result equals a rebuild. A change to the spec, or --full-refresh, starts
    // the cache again.
    const specHash = cacheSpecHash(spec, sources);
    const cache = this.cacheTables();
    const useCache = !this.ctx.fullRefresh && (await this.cacheMatches(specHash));
    const withIds = spec.idTypes.map((t, k) => ({ t, k })).filter(({ t }) => sources.some((s) => s.ids[t.name]));
    const distinctOf = (k: number) => `select id_type, raw_value, count(*) as n from (${this.rawRows([k])}) as u group by id_type, raw_value`;
    // With a cache the distinct values are read twice (hits and misses): counted once, as a table.
    const counted = useCache
      ? await this.create(this.work('raw_values'), withIds.map(({ k }) => distinctOf(k)).join('\nunion all\n'))
      : undefined;
    const values = await this.create(this.work('values'), withIds.map(({ t, k }) => {
      const distinct = counted ? `select id_type, raw_value, n from ${this.rel(counted)} where id_type = ${this.lit(t.name)}` : distinctOf(k);
      const seen = `exists (select 1 from ${this.rel(cache.values)} m where m.id_type = d.id_type and m.raw_value = d.raw_value)`;
      const v = normalizeSql(t.normalizer, 'raw_value', t.options, this.d);
      const fresh = `select id_type, raw_value, n, id_value, true as fresh,\n` +
        `  case when id_value is null then 'invalid' when ${blockedSql('id_value', t.name, t.normalizer, t.blocklist, this.d, spec.blocklistDefaults, t.options)} then 'blocklist' end as reason\n` +
        `from (select d.id_type, d.raw_value, d.n, ${v} as id_value from (\n  ${distinct}\n) as d${useCache ? ` where not ${seen}` : ''}) as x`;
      if (!useCache) return fresh;
      return `select d.id_type, d.raw_value, d.n, m.id_value, false as fresh, m.reason from (\n  ${distinct}\n) as d\n` +
        `join ${this.rel(cache.values)} m on m.id_type = d.id_type and m.raw_value = d.raw_value\nunion all\n${fresh}`;
    }).join('\nunion all\n'));
    // Nothing in this run reads the cache again: it is brought up to date in the background,
    // started when the warehouse would otherwise sit idle (startBackground).
    this.deferred.push(() => this.saveCache(values, specHash, useCache, stats));

    // Every (record, identifier column) pair is an identifier value; those missing from
    // `values`' counts were empty.
    stats.raw_identifiers = perSource.reduce((sum, r) => sum + Number(r.n) * Object.keys(sources.find((s) => s.name === r.source)?.ids ?? {}).length, 0);
    const [{ n: nonEmpty }] = await this.ctx.wh.query<{ n: number | null }>(`select sum(n) as n from ${this.rel(values)}`);
    stats.empty_values = stats.raw_identifiers - Number(nonEmpty ?? 0);

    // Integer encoding: every value that passed normalisation and the blocklists gets a node
    // number above the records' (numbers of values the degree caps then reject are simply
    // unused), and each accepted (record, column) row becomes a row of integers, so that the
    // degree caps, the tiers and the outputs join on integers rather than on text. The raw
    // rows meet their numbers through the distinct raw values: one join on the raw text.
    const ids = await this.create(this.work('ids'),
      `select id_type, id_value, (select max(rec_id) from ${this.rel(records)}) + row_number() over (order by id_type, id_value) as id_node\n` +
      `from (select distinct id_type, id_value from ${this.rel(values)} where reason is null) as v`);
    const nodes = await this.create(this.work('value_nodes'),
      `select v.id_type, v.raw_value, i.id_node from ${this.rel(values)} v\n` +
      `join ${this.rel(ids)} i on i.id_type = v.id_type and i.id_value = v.id_value where v.reason is null`);
    const enc = await this.create(this.work('enc'),
      `select r.rec_id, x.id_node, r.id_type, r.tier, r.updated_at from (\n${this.rawRows(withIds.map(({ k }) => k))}\n) as r\n` +
      `join ${this.rel(nodes)} x on x.id_type = r.id_type and x.raw_value = r.raw_value`);

    this.identifierStats = this.defer(() => this.create(this.work('id_stats'),
      `select id_node, min(rec_id) as any_rec, min(updated_at) as first_seen, max(updated_at) as last_seen, count(*) as record_count\n` +
      `from ${this.rel(enc)} group by id_node`));
    // One join on the text keys, made while the components are formed, so that the outputs
    // join on record numbers.
    this.previousProfiles = this.defer(async () => {
      const prior: Relation = { schema: this.ctx.schema, name: outputName(spec.entity, 'source_records') };
      if ((await existingKind(this.ctx.wh, prior)) !== 'table') return undefined;
      return this.create(this.work('previous_ids'), `select rec.rec_id, o.profile_id from ${this.rel(records)} rec\n` +
        `join ${this.rel(prior)} o on o.source = rec.source and o.record_key = rec.record_key`);
    });

    return { records, classified: { values, ids, enc } };
  }

  /**
   * Per identifier, over all its encoded edges (the degree caps and limits come later):
   * `any_rec` (its smallest record), `first_seen`, `last_seen` and `record_count`. The
   * identifiers output corrects the few identifiers that lose edges to a limit.
   */
  identifierStats: () => Promise<Relation> = beforeExtract;

  /**
   * (`rec_id`, `profile_id`): the profile each of this run's records had in the previous build
   * of the outputs, for stable IDs (undefined when there is no previous build).
   */
  previousProfiles: () => Promise<Relation | undefined> = beforeExtract;

  /**
   * The records of this run numbered 1..n (`rec_id`) in the order the sources are read: sorting
   * 6.75M text keys cost ten times more than the numbering itself, and no outcome depends on the
   * order (docs/identity.md). Where the warehouse keeps row positions, the table is written in
   * parallel and numbered by a view over them (checked to be dense 0..n-1); elsewhere by
   * `row_number()`.
   */
  private async numberedRecords(read: string): Promise<Relation> {
    const position = this.d.rowPosition;
    if (!position) return this.create(this.work('records'), `select *, row_number() over () as rec_id from (${read}) as r`);
    const rows = await this.create(this.work('record_rows'), read);
    const [{ n, hi }] = await this.ctx.wh.query<{ n: number; hi: number | null }>(`select count(*) as n, max(${position}) as hi from ${this.rel(rows)}`);
    if (Number(hi ?? -1) === Number(n) - 1) return this.createView(this.work('records'), `select *, ${position} + 1 as rec_id from ${this.rel(rows)}`);
    const records = await this.create(this.work('records'), `select *, row_number() over () as rec_id from ${this.rel(rows)}`);
    await this.ctx.wh.execute(this.d.drop(rows, 'table'));
    return records;
  }

  /** The records table of this run, once extract() made it. */
  private records?: Relation;

  /**
   * The records table, unpivoted: one row (`rec_id`, `id_type`, `tier` (the type's position in
   * the spec), `raw_value`, `updated_at`) per record and identifier column of the given types
   * (spec positions; default: all) with a non-empty raw value.
   */
  rawRows(types?: number[]): string {
    const { spec } = this.ctx;
    types ??= spec.idTypes.map((_, k) => k);
    const records = this.records;
    if (!records) throw new Error('rawRows() before extract()');
    return types.map((k) => `select rec_id, ${this.lit(spec.idTypes[k].name)} as id_type, ${k} as tier, ${rawColumn(k)} as raw_value, updated_at from ${this.rel(records)}\n` +
      `  where ${rawColumn(k)} is not null and not (${isEmptySql(rawColumn(k), this.d)})`).join('\nunion all\n');
  }

  /** The raw value of a record's identifier of type `idType` (a SQL expression), from its records row `rec`. */
  rawValueSql(rec: string, idType: string): string {
    return `case ${idType} ${this.ctx.spec.idTypes.map((t, k) => `when ${this.lit(t.name)} then ${rec}.${rawColumn(k)}`).join(' ')} end`;
  }

  /**
   * Work that can run alongside the pipeline's own steps, which do not read what it writes: the
   * key check, the normalisation cache, the identifiers' statistics and the previous profile IDs.
   */
  private deferred: (() => Promise<unknown>)[] = [];
  private background: Promise<unknown>[] = [];

  /**
   * Registers background work whose result a later step needs; the function returned starts
   * the background work if nothing has yet, and gives that result.
   */
  private defer<T>(job: () => Promise<T>): () => Promise<T> {
    let result: Promise<T> | undefined;
    this.deferred.push(() => (result = job()));
    return () => {
      this.startBackground();
      return result!;
    };
  }

  /**
   * Starts the deferred work. The local engine calls it as it hands the tiers to the process,
   * where the warehouse has nothing else to do; the sql engine as its tiers start.
   */
  private startBackground(): void {
    for (const work of this.deferred.splice(0)) {
      const started = work();
      // Handled now, so a failure cannot end the process before settle() reports it.
      started.catch(() => undefined);
      this.background.push(started);
    }
  }

  /** Waits for background work (starting it if nothing did); its failure fails the run. */
  async settle(): Promise<void> {
    this.startBackground();
    // Every job ends before anything is reported, so none outlives the run (or its scratch tables).
    const outcomes = await Promise.allSettled(this.background);
    this.background = [];
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private cacheTables(): { values: Relation; meta: Relation; legacy: Relation[] } {
    const base = `${this.ctx.spec.entity}_identity_cache`;
    const rel = (suffix: string): Relation => ({ schema: this.stateSchema, name: `${base}_${suffix}` });
    // Earlier versions kept identifiers per record: dropped with the cache they belonged to.
    return { values: rel('values'), meta: rel('meta'), legacy: [rel('hashes'), rel('norm')] };
  }

  private async cacheMatches(specHash: string): Promise<boolean> {
    const c = this.cacheTables();
    const present = new Set((await this.ctx.wh.relations(this.stateSchema)).map((r) => r.name));
    if (![c.values, c.meta].every((r) => present.has(r.name))) return false;
    const [row] = await this.ctx.wh.query<{ spec_hash: string }>(`select spec_hash from ${this.rel(c.meta)}`);
    return row?.spec_hash === specHash;
  }

  /**
   * Leaves the cache holding exactly this run's distinct raw values: values no record carries any
   * more leave it (a deleted person's identifiers do not linger in the state schema), values new
   * to this run join it. The cache only saves work: losing it (or a stale one after a failed run)
   * costs a full pass, never a wrong result. Its spec hash is removed first and written last, so
   * a run that fails while the cache is being changed leaves no cache that would be taken for valid.
   */
  private async saveCache(values: Relation, specHash: string, update: boolean, stats: PipelineStats): Promise<void> {
    const c = this.cacheTables();
    const wh = this.ctx.wh;
    const outcomes = `select id_type, raw_value, id_value, reason from ${this.rel(values)}`;
    if (!update) {
      await ensureSchema(wh, this.stateSchema);
      for (const r of [c.meta, c.values, ...c.legacy]) await wh.execute(this.d.drop(r, 'table'));
      await wh.execute(this.d.createTableAs(c.values, outcomes));
      stats.normalised_values = await this.count(`select 1 from ${this.rel(values)}`);
      stats.cached_values = 0;
    } else {
      stats.normalised_values = await this.count(`select 1 from ${this.rel(values)} where fresh`);
      stats.cached_values = await this.count(`select 1 from ${this.rel(values)} where not fresh`);
      await wh.execute(this.d.drop(c.meta, 'table'));
      await wh.execute(`delete from ${this.rel(c.values)} m where not exists (select 1 from ${this.rel(values)} v where v.id_type = m.id_type and v.raw_value = m.raw_value)`);
      if (stats.normalised_values > 0) await wh.execute(`insert into ${this.rel(c.values)} (id_type, raw_value, id_value, reason)\n${outcomes} where fresh`);
    }
    await wh.execute(this.d.createTableAs(c.meta, `select ${this.lit(specHash)} as spec_hash`));
  }

  private async assertKeys(recRaw: Relation): Promise<void> {
    const nulls = await this.ctx.wh.query<{ source: string; n: number }>(`select source, count(*) as n from ${this.rel(recRaw)} where record_key is null group by source`);
    if (nulls.length) {
      throw new CdpError(`identity source "${nulls[0].source}" has ${nulls[0].n} rows with a NULL key`, { exitCode: EXIT_FAILURE, location: { file: this.ctx.spec.file }, hint: 'every source row needs a key; filter NULL keys out in the source model' });
    }
    const dupes = await this.ctx.wh.query<{ source: string; record_key: string; n: number }>(
      `select source, record_key, count(*) as n from ${this.rel(recRaw)} group by source, record_key having count(*) > 1 order by n desc, record_key limit 3`);
    if (dupes.length) {
      throw new CdpError(`identity source "${dupes[0].source}" has duplicate keys: ${dupes.map((r) => `${r.record_key} x${r.n}`).join(', ')}`, { exitCode: EXIT_FAILURE, location: { file: this.ctx.spec.file }, hint: 'the key must identify one row of the source; deduplicate the source model' });
    }
  }

  /**
   * Steps 5-6: degree caps, then tiers by priority with limits, using a component engine.
   * `shared` lists the identifiers the caps reject; `edges` is `enc` without them.
   */
  async resolve(records: Relation, classified: Classified, stats: PipelineStats): Promise<{ final: Relation; edges: Relation; ids: Relation; shared: Relation; limitRejected: Relation }> {
    const { spec } = this.ctx;
    const { ids, enc } = classified;
    const [{ n: maxRec }] = await this.ctx.wh.query<{ n: number | null }>(`select max(rec_id) as n from ${this.rel(records)}`);
    const recordCount = Number(maxRec ?? 0);
    const [{ n: encoded, hi }] = await this.ctx.wh.query<{ n: number; hi: number | null }>(`select count(*) as n, max(id_node) as hi from ${this.rel(enc)}`);
    // `auto` decides before the degree caps, on every accepted edge: an upper bound of the graph.
    const engine = engineFor(chooseEngine(spec, Number(encoded)), spec.maxRounds);
    if (engine.name === 'local') {
      stats.engine = 'local';
      return { ...(await this.resolveInProcess(recordCount, enc, { edges: Number(encoded), maxNode: Number(hi ?? 0) }, stats)), ids };
    }
    this.startBackground();
    const shared = await this.create(this.work('shared'), degreeCapSql(this.d, this.rel(enc), spec.idTypes));
    const edges = await this.create(this.work('e'),
      `select rec_id, id_node, id_type from ${this.rel(enc)} x where not exists (select 1 from ${this.rel(shared)} s where s.id_node = x.id_node)`);
    stats.edges = await this.count(`select 1 from ${this.rel(edges)}`);
    // Limits reject single edges (record, identifier), so an identifier shared by two customers
    // is detached from their records but still holds together the records that carry nothing else.
    const rejected = await this.create(this.work('rej_limit'), `select rec_id, id_node, id_type from ${this.rel(edges)} where 1 = 0`);
    let comp = await this.create(this.work('comp'), `select rec_id, rec_id as comp from ${this.rel(records)}`);
    const firstIdNode = recordCount + 1;
    /** How many tiers `comp` already holds; later tiers' edges are added to its contraction. */
    let folded = 0;

    const limited = (types: IdTypeSpec[]) => types.filter((t) => t.limit !== undefined);
    const limitCase = (col: string) => `case ${col} ${spec.idTypes.filter((t) => t.limit !== undefined).map((t) => `when ${this.lit(t.name)} then ${t.limit}`).join(' ')} end`;
    const typeList = (types: IdTypeSpec[]) => types.map((t) => this.lit(t.name)).join(', ');
    const accepted = (alias: string) => `not exists (select 1 from ${this.rel(rejected)} x where x.rec_id = ${alias}.rec_id and x.id_node = ${alias}.id_node)`;
    /** Components (of `c`) holding a value of one of `types`; only those with records in `within` when given. */
    const anchored = (c: Relation, types: IdTypeSpec[], within?: Relation) =>
      `select distinct ac.comp from ${this.rel(edges)} ae join ${this.rel(c)} ac on ac.rec_id = ae.rec_id where ae.id_type in (${typeList(types)}) and ${accepted('ae')}` +
      (within ? ` and ae.rec_id in (select rec_id from ${this.rel(within)})` : '');
    const rejectedCount = () => this.count(`select 1 from ${this.rel(rejected)}`);
    /** Rejects the tier's edges from `nodes` to records whose component (in `c`) is anchored. */
    const cutFromAnchored = async (tier: IdTypeSpec, nodes: string, c: Relation, anchorTypes: IdTypeSpec[], within?: Relation) => {
      // Usually no identifier qualifies: finding that out first spares the scan for anchored components.
      const cut = await this.create(this.work('cut_nodes'), nodes);
      if ((await this.count(`select 1 from ${this.rel(cut)}`)) === 0) return;
      // The few edges at stake, as a table of their own: joined to the components, it is the
      // small side, and only the components of their records are checked for anchors.
      const cutEdges = await this.create(this.work('cut_edges'),
        `select e.rec_id, e.id_node, e.id_type, c.comp from ${this.rel(edges)} e join ${this.rel(c)} c on c.rec_id = e.rec_id\n` +
        `where e.id_type = ${this.lit(tier.name)} and ${accepted('e')} and e.id_node in (select id_node from ${this.rel(cut)})`);
      const scope = within ?? await this.create(this.work('cut_scope'),
        `select c.rec_id from ${this.rel(c)} c where c.comp in (select comp from ${this.rel(cutEdges)})`);
      await this.ctx.wh.execute(`insert into ${this.rel(rejected)} (rec_id, id_node, id_type)\n` +
        `select x.rec_id, x.id_node, x.id_type from ${this.rel(cutEdges)} x where x.comp in (${anchored(c, anchorTypes, scope)})`);
    };
    /** No component of `comp` is over a limit (the last tier ended without violations). */
    let clean = true;

    for (let k = 0; k < spec.idTypes.length; k++) {
      const tier = spec.idTypes[k];
      const before = spec.idTypes.slice(0, k);
      const upTo = spec.idTypes.slice(0, k + 1);
      const limitedSoFar = limited(upTo);
      // Without any limit so far, components are only needed once, after the last tier.
      const needsComponents = limitedSoFar.length > 0 || k === spec.idTypes.length - 1;
      if (limited(before).length) {
        // Pre-check: an identifier whose records sit in components holding together too many
        // values of a resolved, limited type is detached from those anchored components.
        // When no component is over a limit, only identifiers touching two or more of them can
        // be, so the values of the others' components need not be counted.
        const touch = await this.create(this.work('touch'),
          `select id_node, comp from (select id_node, comp, count(*) over (partition by id_node) as touched from (\n` +
          `  select distinct e.id_node, c.comp from ${this.rel(edges)} e join ${this.rel(comp)} c on c.rec_id = e.rec_id where e.id_type = ${this.lit(tier.name)}) as d) as t` +
          (clean ? ' where touched > 1' : ''));
        await cutFromAnchored(tier,
          `select t.id_node from ${this.rel(touch)} t\n` +
          `join (select distinct c.comp, e.id_type, e.id_node from ${this.rel(edges)} e join ${this.rel(comp)} c on c.rec_id = e.rec_id\n` +
          `  where e.id_type in (${typeList(limited(before))}) and ${accepted('e')} and c.comp in (select comp from ${this.rel(touch)})) cv on cv.comp = t.comp\n` +
          `group by t.id_node, cv.id_type having count(distinct cv.id_node) > ${limitCase('cv.id_type')}`,
          comp, limited(before));
      }
      if (!needsComponents) continue;
      /**
       * Records of the components that violated a limit in the previous round. Later rounds only
       * remove edges, so components only split: a component can violate only if it lies within
       * one that did, and the checks need not look at any other record.
       */
      let suspects: Relation | undefined;
      for (let round = 0; ; round++) {
        // Rejections only ever touch the current tier's edges, so the tiers already in `comp` enter
        // contracted: one edge from each record to its component's label, which is a record too.
        const pending = spec.idTypes.slice(folded, k + 1);
        const ccEdges = await this.create(this.work('cc_edges'),
          `select rec_id as a, comp as b from ${this.rel(comp)} where comp <> rec_id\nunion all\n` +
          `select rec_id as a, id_node as b from ${this.rel(edges)} e where e.id_type in (${typeList(pending)}) and ${accepted('e')}`);
        const labels = this.work('labels');
        await this.ctx.wh.execute(this.d.drop(labels, 'table'));
        const ccStats: ComponentStats = await engine.run(this.ctx.wh, ccEdges, labels, { below: firstIdNode, changedOnly: true });
        this.remember(labels);
        stats.component_runs++;
        stats.rounds += ccStats.rounds;
        // Records are numbered below identifiers, so a component's label is its smallest record.
        const next = await this.create(this.work('comp_next'),
          `select r.rec_id, coalesce(l.comp, r.rec_id) as comp from ${this.rel(records)} r left join ${this.rel(labels)} l on l.node = r.rec_id`);
        if (limitedSoFar.length === 0) {
          comp = await this.swapScratch(next, comp);
          folded = k + 1;
          break;
        }
        const violations = this.work('violations');
        await this.create(violations,
          `select c.comp, e.id_type from ${this.rel(edges)} e join ${this.rel(next)} c on c.rec_id = e.rec_id\n` +
          `where e.id_type in (${typeList(limitedSoFar)}) and ${accepted('e')}${suspects ? ` and e.rec_id in (select rec_id from ${this.rel(suspects)})` : ''}\n` +
          `group by c.comp, e.id_type having count(distinct e.id_node) > ${limitCase('e.id_type')}`);
        const violating = await this.count(`select 1 from ${this.rel(violations)}`);
        if (violating === 0 || round >= LIMIT_ROUNDS) {
          stats.unresolved_limit_violations += violating;
          clean = violating === 0;
          comp = await this.swapScratch(next, comp);
          folded = k + 1;
          break;
        }
        const cutBefore = await rejectedCount();
        const inViolation = await this.create(this.work('suspects'),
          `select n.rec_id from ${this.rel(next)} n where n.comp in (select comp from ${this.rel(violations)})`);
        suspects = inViolation;
        // The tier's identifiers that joined several earlier components into a violating one. An
        // identifier's accepted edges all lie in one component of `next`, so filtering the edges
        // by the records of violating components before grouping keeps exactly their
        // identifiers; their earlier components lie within those components too.
        const bridges = (minAnchored: number) =>
          `select b.id_node from (\n` +
          `  select e.id_node, count(distinct p.comp) as touched, count(distinct case when p.comp in (${anchored(comp, limited(before), inViolation)}) then p.comp end) as anchors\n` +
          `  from ${this.rel(edges)} e join ${this.rel(comp)} p on p.rec_id = e.rec_id\n` +
          `  where e.id_type = ${this.lit(tier.name)} and ${accepted('e')} and e.rec_id in (select rec_id from ${this.rel(inViolation)}) group by e.id_node) b\n` +
          `where b.touched > 1 and b.anchors >= ${minAnchored}`;
        if (limited(before).length) {
          // First the identifiers that touch two anchored components themselves, then, for
          // violations made by a chain of them, every bridge into an anchored component.
          await cutFromAnchored(tier, bridges(2), comp, limited(before), inViolation);
          if ((await rejectedCount()) === cutBefore) await cutFromAnchored(tier, bridges(1), comp, limited(before), inViolation);
        }
        if ((await rejectedCount()) === cutBefore && tier.limit !== undefined) {
          // The excess values of the tier's own type: keep the `limit` values with the most
          // records (ties: smallest value) and detach the rest from the component.
          await this.ctx.wh.execute(`insert into ${this.rel(rejected)} (rec_id, id_node, id_type)\n` +
            `select e.rec_id, e.id_node, e.id_type from ${this.rel(edges)} e join ${this.rel(next)} n on n.rec_id = e.rec_id\n` +
            `join (select comp, id_node from (\n` +
            `  select n.comp, e.id_node, row_number() over (partition by n.comp order by count(*) desc, min(i.id_value)) as rank from ${this.rel(edges)} e\n` +
            `  join ${this.rel(next)} n on n.rec_id = e.rec_id join ${this.rel(ids)} i on i.id_node = e.id_node\n` +
            `  where e.id_type = ${this.lit(tier.name)} and ${accepted('e')} and n.comp in (select comp from ${this.rel(violations)} where id_type = ${this.lit(tier.name)})\n` +
            `  group by n.comp, e.id_node) as ranked where rank > ${tier.limit}) x on x.comp = n.comp and x.id_node = e.id_node\n` +
            `where ${accepted('e')}`);
        }
        if ((await rejectedCount()) === cutBefore) {
          stats.unresolved_limit_violations += violating;
          clean = false;
          comp = await this.swapScratch(next, comp);
          folded = k + 1;
          break;
        }
      }
    }
    stats.engine = engine.name;
    return { final: comp, edges, ids, shared, limitRejected: rejected };
  }

  /**
   * The local engine's degree caps and tiers: the integer edges are read once, and the caps,
   * every tier, limit check and component run happen in memory (degree-caps.ts,
   * tiers-in-memory.ts); the shared identifiers, the labels and the limit rejections are loaded
   * back as integers, and the accepted edges are a view of `enc` without the shared identifiers.
   */
  private async resolveInProcess(recordCount: number, enc: Relation, size: { edges: number; maxNode: number }, stats: PipelineStats): Promise<{ final: Relation; edges: Relation; shared: Relation; limitRejected: Relation }> {
    const { spec, wh } = this.ctx;
    if (Math.max(recordCount, size.maxNode) > INT32_MAX) {
      throw new CdpError(`identity graph too large for the local engine (${size.maxNode} node numbers)`, { exitCode: EXIT_FAILURE, hint: 'set engine: sql in the identity spec' });
    }
    // Started before the read: the work is a chain of statements, and each next one needs this
    // thread, which the tiers below keep busy for seconds. The read gives the chain the turns it
    // needs to reach its long statement, which then runs beside the tiers.
    this.startBackground();
    const all = await readEdgeArrays(wh, `select rec_id, id_node, tier from ${this.rel(enc)}`, size.edges);
    const result = resolveLocal(recordCount, all, spec.idTypes.map((t) => ({ limit: t.limit })), spec.idTypes.map(capOf));
    const sharedNodes: number[] = [];
    for (let x = 0; x < result.shared.length; x++) if (result.shared[x]) sharedNodes.push(x);
    const bigint = (name: string) => ({ name, type: 'bigint' as const });
    const shared = await this.createEmpty(this.work('shared'), [bigint('id_node')]);
    if (sharedNodes.length) await loadInt32Columns(wh, shared, [Int32Array.from(sharedNodes)]);
    const edges = await this.createView(this.work('e'),
      `select rec_id, id_node, id_type from ${this.rel(enc)} x where not exists (select 1 from ${this.rel(shared)} s where s.id_node = x.id_node)`);
    stats.edges = result.edges;
    stats.component_runs += result.componentRuns;
    stats.rounds += result.componentRuns;
    stats.unresolved_limit_violations += result.unresolvedLimitViolations;

    const comp = await this.createEmpty(this.work('comp'), [bigint('rec_id'), bigint('comp')]);
    const recIds = new Int32Array(recordCount);
    for (let r = 0; r < recordCount; r++) recIds[r] = r + 1;
    await loadInt32Columns(wh, comp, [recIds, result.comp.subarray(1)]);

    const rejectedColumns = [bigint('rec_id'), bigint('id_node'), { name: 'id_type', type: 'text' as const }];
    const rejected = await this.createEmpty(this.work('rej_limit'), rejectedColumns);
    const rows: unknown[][] = [];
    for (let e = 0; e < result.rejected.length; e++) {
      if (result.rejected[e]) rows.push([all.rec[e], all.node[e], spec.idTypes[all.tier[e]].name]);
    }
    if (rows.length) await wh.bulkLoad(rejected, rejectedColumns, (async function* () { yield rows; })());
    return { final: comp, edges, shared, limitRejected: rejected };
  }

  /** An empty scratch table, replacing any left by an earlier run. */
  private async createEmpty(r: Relation, columns: ColumnSpec[]): Promise<Relation> {
    await this.ctx.wh.execute(this.d.drop(r, 'table'));
    await this.ctx.wh.execute(this.d.createTable(r, columns));
    this.remember(r);
    return r;
  }

  /** A scratch view, replacing any left by an earlier run. */
  private async createView(r: Relation, select: string): Promise<Relation> {
    await this.ctx.wh.execute(this.d.drop(r, 'view'));
    await this.ctx.wh.execute(this.d.createView(r, select));
    this.remember(r, 'view');
    return r;
  }

  private remember(r: Relation, kind: RelationKind = 'table'): void {
    if (!this.created.some((c) => c.relation.name === r.name)) this.created.push({ relation: r, kind });
  }

  private async swapScratch(next: Relation, comp: Relation): Promise<Relation> {
    await this.ctx.wh.execute(this.d.drop(comp, 'table'));
    await this.ctx.wh.execute(this.d.rename(next, 'table', comp.name));
    return comp;
  }
}

export function chooseEngine(spec: IdentitySpec, edges: number): EngineName {
  if (spec.engine !== 'auto') return spec.engine;
  return edges <= AUTO_LOCAL_MAX_EDGES ? 'local' : 'sql';
}
