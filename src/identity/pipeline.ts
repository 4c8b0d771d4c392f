/**
 * The identity pipeline, step by step, as SQL run in the warehouse (docs/identity.md).
 * Only integer edge pairs ever leave the warehouse (with the local component engine).
 */
import { createHash } from 'node:crypto';
import { CdpError, EXIT_FAILURE } from '../errors.js';
import { ensureSchema } from '../materializations/swap.js';
import type { ColumnSpec, Dialect, Relation, Warehouse } from '../warehouse/types.js';
import { blockedSql } from './blocklist.js';
import { engineFor, INT32_MAX, loadInt32Columns, readEdgeArrays, type ComponentStats, type EngineName } from './components.js';
import { isEmptySql, normalizeSql } from './normalize.js';
import type { IdTypeSpec, IdentitySpec } from './spec.js';
import { LIMIT_ROUNDS, resolveInMemory } from './tiers-in-memory.js';

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
 * The identifiers of every record after steps 1-5. `norm` holds every non-empty value with its
 * normalisation outcome (`reason`: invalid, blocklist or NULL); `enc` is its accepted rows as
 * integers (`rec_id`, `id_node` numbered in `ids`); `shared` lists the nodes the degree caps reject.
 */
export interface Classified {
  norm: Relation;
  ids: Relation;
  enc: Relation;
  shared: Relation;
}

export interface PipelineStats {
  engine: EngineName;
  records: number;
  raw_identifiers: number;
  /** Records whose identifiers were normalised in this run (the rest came from the cache). */
  reprocessed_records?: number;
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
  return createHash('sha256').update(JSON.stringify({ types: spec.idTypes, sources: sources.map((s) => [s.name, s.ids]), defaults: spec.blocklistDefaults, v: 2 })).digest('hex');
}

export class IdentityPipeline {
  readonly d: Dialect;
  private readonly created: Relation[] = [];

  constructor(private readonly ctx: PipelineContext) {
    this.d = ctx.wh.dialect;
  }

  get wh(): Warehouse {
    return this.ctx.wh;
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
    for (const r of this.created) await this.ctx.wh.execute(this.d.drop(r, 'table')).catch(() => undefined);
  }

  /** Steps 1-5: records, raw identifiers, normalisation, blocklists, integer encoding and degree caps. */
  async extract(stats: PipelineStats): Promise<{ records: Relation; classified: Classified }> {
    const { spec, sources } = this.ctx;
    this.scratchCatalog = await this.ctx.wh.scratchCatalog?.();
    const records = await this.create(this.work('records'),
      // Numbered in the order the sources are read: sorting 6.75M text keys cost ten times more
      // than the numbering itself, and no outcome depends on the order (docs/identity.md).
      `select source, record_key, updated_at, row_number() over () as rec_id from (\n` + sources.map((s) =>
      `select ${this.lit(s.name)} as source, ${this.d.cast(this.q(s.key), 'text')} as record_key, ` +
      `${s.updatedAt ? this.d.cast(this.q(s.updatedAt), 'timestamp') : this.d.cast('null', 'timestamp')} as updated_at from ${this.rel(s.relation)}`).join('\nunion all\n') + `\n) as r`);
    await this.assertKeys(records);
    stats.records = await this.count(`select 1 from ${this.rel(records)}`);

    // Incremental: identifiers are normalised again only for records that are new or changed
    // since the last run (or all of them when the spec changed or on --full-refresh); the
    // rest come from the cache. Normalisation is per value, so the result equals a rebuild.
    const hashSelect = sources.map((s) =>
      `select ${this.lit(s.name)} as source, ${this.d.cast(this.q(s.key), 'text')} as record_key, ` +
      `${this.d.rowHash(Object.values(s.ids).sort().map((c) => this.d.cast(this.q(c), 'text')))} as rec_hash from ${this.rel(s.relation)}`).join('\nunion all\n');
    const cache = this.cacheTables();
    const specHash = cacheSpecHash(spec, sources);
    const useCache = !this.ctx.fullRefresh && (await this.cacheMatches(specHash));
    // Without the cache, the hashes go straight into it: nothing compares them in this run.
    const hashes = useCache ? await this.create(this.work('rec_hash'), hashSelect) : undefined;
    const changed = hashes
      ? await this.create(this.work('changed'),
        `select h.source, h.record_key from ${this.rel(hashes)} h left join ${this.rel(cache.hashes)} c on c.source = h.source and c.record_key = h.record_key where c.rec_hash is null or c.rec_hash <> h.rec_hash`)
      : undefined;
    stats.reprocessed_records = changed ? await this.count(`select 1 from ${this.rel(changed)}`) : stats.records;

    // One row per (record, identifier column), read straight from the sources: only the
    // non-empty values are normalised and kept. Without the cache every record is new, and a
    // filter on `changed` would remove nothing and still cost a text-keyed semi-join per column.
    const rawOf = (types: string[]) => sources.flatMap((s) => Object.entries(s.ids).filter(([type]) => types.includes(type)).map(([type, column]) =>
      `select ${this.lit(s.name)} as source, ${this.d.cast(this.q(s.key), 'text')} as record_key, ${this.lit(type)} as id_type, ` +
      `${this.lit(column)} as column_name, ${this.d.cast(this.q(column), 'text')} as raw_value from ${this.rel(s.relation)} s` +
      (changed ? `\nwhere exists (select 1 from ${this.rel(changed)} c where c.source = ${this.lit(s.name)} and c.record_key = ${this.d.cast(`s.${this.q(s.key)}`, 'text')})` : ''))).join('\nunion all\n');

    const perType = spec.idTypes.filter((t) => rawOf([t.name])).map((t) => {
      const v = normalizeSql(t.normalizer, 'raw_value', t.options, this.d);
      return `select source, record_key, id_type, column_name, raw_value, id_value,\n` +
        `  case when id_value is null then 'invalid' when ${blockedSql('id_value', t.name, t.normalizer, t.blocklist, this.d, spec.blocklistDefaults, t.options)} then 'blocklist' end as reason\n` +
        `from (select source, record_key, id_type, column_name, raw_value, ${v} as id_value from (\n${rawOf([t.name])}\n) as r where not (${isEmptySql('raw_value', this.d)})) as n`;
    }).join('\nunion all\n');
    // The cache's table of normalised identifiers is this run's too: brought up to date in place
    // (only changed and removed records' rows), it is never copied.
    const normalised = hashes && changed ? await this.updateCache(hashes, changed, perType, specHash) : await this.rebuildCache(hashSelect, perType, specHash);
    // Every (record, identifier column) pair is an identifier value; those missing from the
    // cache's table were empty.
    const perSource = await this.ctx.wh.query<{ source: string; n: number }>(`select source, count(*) as n from ${this.rel(records)} group by source`);
    stats.raw_identifiers = perSource.reduce((sum, r) => sum + Number(r.n) * Object.keys(sources.find((s) => s.name === r.source)?.ids ?? {}).length, 0);
    stats.empty_values = stats.raw_identifiers - (await this.count(`select 1 from ${this.rel(normalised)}`));

    // Integer encoding: every value that passed normalisation and the blocklists gets a node
    // number above the records' (numbers of values the degree caps then reject are simply
    // unused), and each accepted (record, column) row becomes a row of integers, so that the
    // degree caps, the tiers and the outputs join on integers rather than on text.
    const ids = await this.create(this.work('ids'),
      `select id_type, id_value, (select max(rec_id) from ${this.rel(records)}) + row_number() over (order by id_type, id_value) as id_node\n` +
      `from (select distinct id_type, id_value from ${this.rel(normalised)} where reason is null) as v`);
    const enc = await this.create(this.work('enc'),
      `select r.rec_id, i.id_node, n.id_type, n.column_name from ${this.rel(normalised)} n\n` +
      `join ${this.rel(records)} r on r.source = n.source and r.record_key = n.record_key\n` +
      `join ${this.rel(ids)} i on i.id_type = n.id_type and i.id_value = n.id_value where n.reason is null`);

    // Degree caps: identifiers that co-occur with too many values of another type are shared.
    const capCase = `case a.id_type ${spec.idTypes.map((t) => `when ${this.lit(t.name)} then ${t.maxDegree}`).join(' ')} end`;
    const shared = await this.create(this.work('shared'),
      `with acc as (select distinct rec_id, id_type, id_node from ${this.rel(enc)})\n` +
      `select distinct a.id_node from acc a join acc b on a.rec_id = b.rec_id and a.id_type <> b.id_type\n` +
      `group by a.id_node, a.id_type, b.id_type having count(distinct b.id_node) > ${capCase}`);
    return { records, classified: { norm: normalised, ids, enc, shared } };
  }

  private cacheTables(): { hashes: Relation; norm: Relation; meta: Relation } {
    const base = `${this.ctx.spec.entity}_identity_cache`;
    const rel = (suffix: string): Relation => ({ schema: this.stateSchema, name: `${base}_${suffix}` });
    return { hashes: rel('hashes'), norm: rel('norm'), meta: rel('meta') };
  }

  private async cacheMatches(specHash: string): Promise<boolean> {
    const c = this.cacheTables();
    const present = new Set((await this.ctx.wh.relations(this.stateSchema)).map((r) => r.name));
    if (![c.hashes, c.norm, c.meta].every((r) => present.has(r.name))) return false;
    const [row] = await this.ctx.wh.query<{ spec_hash: string }>(`select spec_hash from ${this.rel(c.meta)}`);
    return row?.spec_hash === specHash;
  }

  /**
   * The cache only saves work: losing it (or a stale one after a failed run) costs a full pass,
   * never a wrong result. Its spec hash is removed first and written last, so a run that fails
   * while the cache is being changed leaves no cache that would be taken for valid.
   */
  private async rebuildCache(hashSelect: string, perType: string, specHash: string): Promise<Relation> {
    const c = this.cacheTables();
    const wh = this.ctx.wh;
    await ensureSchema(wh, this.stateSchema);
    for (const r of [c.meta, c.hashes, c.norm]) await wh.execute(this.d.drop(r, 'table'));
    // Hashes first: a record that changes while this runs then has a stored hash older than its
    // cached identifiers, and the next run normalises it again (the other order would pair a
    // new hash with old identifiers for good).
    await wh.execute(this.d.createTableAs(c.hashes, hashSelect));
    await wh.execute(this.d.createTableAs(c.norm, perType));
    await wh.execute(this.d.createTableAs(c.meta, `select ${this.lit(specHash)} as spec_hash`));
    return c.norm;
  }

  /** Replaces the rows of changed and removed records only; with nothing changed, it writes nothing. */
  private async updateCache(hashes: Relation, changed: Relation, perType: string, specHash: string): Promise<Relation> {
    const c = this.cacheTables();
    const wh = this.ctx.wh;
    const stale = await this.create(this.work('stale'),
      `select source, record_key from ${this.rel(changed)}\nunion all\n` +
      `select c.source, c.record_key from ${this.rel(c.hashes)} c where not exists (select 1 from ${this.rel(hashes)} h where h.source = c.source and h.record_key = c.record_key)`);
    if ((await this.count(`select 1 from ${this.rel(stale)}`)) === 0) return c.norm;
    await wh.execute(this.d.drop(c.meta, 'table'));
    const isStale = `exists (select 1 from ${this.rel(stale)} x where x.source = t.source and x.record_key = t.record_key)`;
    await wh.execute(`delete from ${this.rel(c.norm)} t where ${isStale}`);
    await wh.execute(`delete from ${this.rel(c.hashes)} t where ${isStale}`);
    await wh.execute(`insert into ${this.rel(c.norm)} (source, record_key, id_type, column_name, raw_value, id_value, reason)\n${perType}`);
    await wh.execute(`insert into ${this.rel(c.hashes)} (source, record_key, rec_hash)\n` +
      `select h.source, h.record_key, h.rec_hash from ${this.rel(hashes)} h where exists (select 1 from ${this.rel(changed)} x where x.source = h.source and x.record_key = h.record_key)`);
    await wh.execute(this.d.createTableAs(c.meta, `select ${this.lit(specHash)} as spec_hash`));
    return c.norm;
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

  /** Steps 5-6: integer encoding, then tiers by priority with limits, using a component engine. */
  async resolve(records: Relation, classified: Classified, stats: PipelineStats): Promise<{ final: Relation; edges: Relation; ids: Relation; limitRejected: Relation }> {
    const { spec } = this.ctx;
    const { ids, enc, shared } = classified;
    const edges = await this.create(this.work('e'),
      `select distinct rec_id, id_node, id_type from ${this.rel(enc)} x where not exists (select 1 from ${this.rel(shared)} s where s.id_node = x.id_node)`);
    stats.edges = await this.count(`select 1 from ${this.rel(edges)}`);
    const engine = engineFor(chooseEngine(spec, stats.edges), spec.maxRounds);
    const [{ n: maxRec }] = await this.ctx.wh.query<{ n: number | null }>(`select max(rec_id) as n from ${this.rel(records)}`);
    const recordCount = Number(maxRec ?? 0);
    if (engine.name === 'local') {
      stats.engine = 'local';
      return { ...(await this.resolveInProcess(recordCount, edges, stats)), edges, ids };
    }
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
    return { final: comp, edges, ids, limitRejected: rejected };
  }

  /**
   * The local engine's tiers: the integer edges are read once and every tier, limit check and
   * component run happens in memory (tiers-in-memory.ts); the labels and the limit rejections
   * are loaded back as integers.
   */
  private async resolveInProcess(recordCount: number, edges: Relation, stats: PipelineStats): Promise<{ final: Relation; limitRejected: Relation }> {
    const { spec, wh } = this.ctx;
    const [{ hi }] = await wh.query<{ hi: number | null }>(`select max(id_node) as hi from ${this.rel(edges)}`);
    if (Math.max(recordCount, Number(hi ?? 0)) > INT32_MAX) {
      throw new CdpError(`identity graph too large for the local engine (${Number(hi)} node numbers)`, { exitCode: EXIT_FAILURE, hint: 'set engine: sql in the identity spec' });
    }
    const tierOf = `case id_type ${spec.idTypes.map((t, i) => `when ${this.lit(t.name)} then ${i}`).join(' ')} end`;
    const arrays = await readEdgeArrays(wh, `select rec_id, id_node, ${tierOf} as tier from ${this.rel(edges)}`, stats.edges);
    const result = resolveInMemory(recordCount, arrays, spec.idTypes.map((t) => ({ limit: t.limit })));
    stats.component_runs += result.componentRuns;
    stats.rounds += result.componentRuns;
    stats.unresolved_limit_violations += result.unresolvedLimitViolations;

    const bigint = (name: string) => ({ name, type: 'bigint' as const });
    const comp = await this.createEmpty(this.work('comp'), [bigint('rec_id'), bigint('comp')]);
    const recIds = new Int32Array(recordCount);
    for (let r = 0; r < recordCount; r++) recIds[r] = r + 1;
    await loadInt32Columns(wh, comp, [recIds, result.comp.subarray(1)]);

    const rejectedColumns = [bigint('rec_id'), bigint('id_node'), { name: 'id_type', type: 'text' as const }];
    const rejected = await this.createEmpty(this.work('rej_limit'), rejectedColumns);
    const rows: unknown[][] = [];
    for (let e = 0; e < result.rejected.length; e++) {
      if (result.rejected[e]) rows.push([arrays.rec[e], arrays.node[e], spec.idTypes[arrays.tier[e]].name]);
    }
    if (rows.length) await wh.bulkLoad(rejected, rejectedColumns, (async function* () { yield rows; })());
    return { final: comp, limitRejected: rejected };
  }

  /** An empty scratch table, replacing any left by an earlier run. */
  private async createEmpty(r: Relation, columns: ColumnSpec[]): Promise<Relation> {
    await this.ctx.wh.execute(this.d.drop(r, 'table'));
    await this.ctx.wh.execute(this.d.createTable(r, columns));
    this.remember(r);
    return r;
  }

  private remember(r: Relation): void {
    if (!this.created.some((c) => c.name === r.name)) this.created.push(r);
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
