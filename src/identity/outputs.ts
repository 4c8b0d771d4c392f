/**
 * Stable profile IDs and the identity outputs. IDs come from the previous run's
 * `<entity>_source_records`: an old ID stays with the component holding most of its records;
 * when several land in one component the oldest survives and the others are recorded as
 * merged; components left without one get a new UUID (with `split` lineage when their
 * records came from an existing profile).
 */
import { existingKind, replaceAllAtomically } from '../materializations/swap.js';
import type { Dialect, Executor, Relation, Warehouse } from '../warehouse/types.js';
import type { Classified, IdentityPipeline, ResolvedSource } from './pipeline.js';
import { IDENTITY_TABLES, outputName, type IdentityOutput } from './spec.js';

export interface ResolvedTables {
  records: Relation;
  classified: Classified;
  final: Relation;
  edges: Relation;
  ids: Relation;
  shared: Relation;
  limitRejected: Relation;
}

export async function buildOutputs(
  p: IdentityPipeline,
  t: ResolvedTables,
  target: (o: IdentityOutput) => Relation,
  staging: (o: IdentityOutput) => Relation,
  runId: string,
): Promise<{ profiles: number; largest: number; merged: number; split: number }> {
  const wh = p.wh;
  const d = p.d;
  const r = (x: Relation) => p.rel(x);
  const now = d.currentTimestamp();
  const run = p.lit(runId);
  const prevProfiles = (await existingKind(wh, target('profiles'))) === 'table' ? target('profiles') : undefined;
  const prevMerges = (await existingKind(wh, target('merges'))) === 'table' ? target('merges') : undefined;

  const previous = await p.previousProfiles();
  const overlap = await p.create(p.work('overlap'), previous && prevProfiles
    ? `select f.comp, m.profile_id as old_id, count(*) as n from ${r(previous)} m join ${r(t.final)} f on f.rec_id = m.rec_id group by f.comp, m.profile_id`
    : `select cast(null as bigint) as comp, ${d.cast('null', 'text')} as old_id, cast(0 as bigint) as n from ${r(t.records)} where 1 = 0`);
  const home = await p.create(p.work('home'),
    `select old_id, comp from (select old_id, comp, row_number() over (partition by old_id order by n desc, comp) as rn from ${r(overlap)}) as h where rn = 1`);
  const createdAt = prevProfiles ? `(select created_at from ${r(prevProfiles)} pp where pp.profile_id = h.old_id)` : now;
  const winner = await p.create(p.work('winner'),
    `select comp, old_id from (select h.comp, h.old_id, row_number() over (partition by h.comp order by ${createdAt}, h.old_id) as rn from ${r(home)} h) as w where rn = 1`);
  const assign = await p.create(p.work('assign'),
    `select c.comp, coalesce(w.old_id, ${d.newUuid()}) as profile_id,\n` +
    `  ${prevProfiles ? `coalesce((select created_at from ${r(prevProfiles)} pp where pp.profile_id = w.old_id), ${now})` : now} as created_at\n` +
    `from (select distinct comp from ${r(t.final)}) c left join ${r(winner)} w on w.comp = c.comp`);

  const acceptedEdge = `not exists (select 1 from ${r(t.limitRejected)} x where x.rec_id = e.rec_id and x.id_node = e.id_node)`;

  const { values } = t.classified;
  const { shared } = t;
  await p.create(staging('source_records'), `select rec.source, rec.record_key, a.profile_id, rec.rec_id as record_id from ${r(t.records)} rec\n` +
    `join ${r(t.final)} f on f.rec_id = rec.rec_id join ${r(assign)} a on a.comp = f.comp`);
  // The accepted edges, once: the identifiers a limit cut are counted again from them.
  const edgeKeys = await p.create(staging('edge_keys'), `select e.rec_id as record_id, e.id_node as identifier_id from ${r(t.edges)} e where ${acceptedEdge}`);
  // From the statistics of every encoded edge, gathered while the components were formed:
  // identifiers the degree caps shared have no accepted edge and are left out, and those that
  // lost edges to a limit are counted again from their accepted edges. An identifier's
  // accepted edges all lie in one component, so any of its records gives the component.
  const idStats = await p.identifierStats();
  const lostEdges = `(select id_node from ${r(t.limitRejected)})`;
  const without = (rel: Relation) => `not exists (select 1 from ${r(rel)} x where x.id_node = s.id_node)`;
  await p.create(staging('identifiers'),
    `select i.id_type, i.id_value, a.profile_id, g.first_seen, g.last_seen, g.record_count, g.id_node as identifier_id from (\n` +
    `  select id_node, any_rec, first_seen, last_seen, record_count from ${r(idStats)} s\n` +
    `  where ${without(shared)} and ${without(t.limitRejected)}\n` +
    `  union all\n` +
    `  select k.identifier_id, min(k.record_id), min(rec.updated_at), max(rec.updated_at), count(*)\n` +
    `  from ${r(edgeKeys)} k join ${r(t.records)} rec on rec.rec_id = k.record_id where k.identifier_id in ${lostEdges}\n` +
    `  group by k.identifier_id) as g\n` +
    `join ${r(t.final)} f on f.rec_id = g.any_rec join ${r(t.ids)} i on i.id_node = g.id_node join ${r(assign)} a on a.comp = f.comp`);
  // Per component first (integers), then given the profile ID.
  await p.create(staging('profiles'),
    `select a.profile_id, a.created_at, c.updated_at, c.record_count, c.source_count, coalesce(ic.n, 0) as identifier_count from (\n` +
    `  select f.comp, max(rec.updated_at) as updated_at, count(*) as record_count, count(distinct rec.source) as source_count\n` +
    `  from ${r(t.records)} rec join ${r(t.final)} f on f.rec_id = rec.rec_id group by f.comp) as c\n` +
    `join ${r(assign)} a on a.comp = c.comp\n` +
    `left join (select profile_id, count(*) as n from ${r(staging('identifiers'))} group by profile_id) ic on ic.profile_id = a.profile_id`);
  // Rejected values, by their reason; each row's raw value comes from its record. Those the
  // normaliser or a blocklist rejected are matched to their rows by raw value (few values);
  // those the degree caps or a limit rejected by identifier number.
  const rejected = (reason: string, from: string) =>
    `select rec.source, rec.record_key, n.id_type, ${columnNameSql(d, p.sources, 'rec.source', 'n.id_type')} as column_name, ${p.rawValueSql('rec', 'n.id_type')} as raw_value, n.id_value, ${reason} as reason, ${run} as run_id\n` +
    `from ${from} join ${r(t.records)} rec on rec.rec_id = n.rec_id`;
  const byNode = (pairs: string) => `(select x.rec_id, i.id_type, i.id_value from ${pairs} join ${r(t.ids)} i on i.id_node = x.id_node) n`;
  await p.create(staging('rejected_edges'),
    `${rejected('n.reason', `(select u.rec_id, v.id_type, v.id_value, v.reason from (\n${p.rawRows()}\n) as u\n` +
      `join ${r(values)} v on v.id_type = u.id_type and v.raw_value = u.raw_value where v.reason is not null) n`)}\n` +
    `union all\n` +
    `${rejected(`'degree_cap'`, byNode(`${r(t.classified.enc)} x join ${r(shared)} s on s.id_node = x.id_node`))}\n` +
    `union all\n` +
    `${rejected(`'limit'`, byNode(`${r(t.limitRejected)} x`))}`);
  const newMerges =
    `select h.old_id as old_profile_id, a.profile_id as new_profile_id, ${run} as run_id, 'merge' as reason, ${now} as merged_at\n` +
    `from ${r(home)} h join ${r(assign)} a on a.comp = h.comp where a.profile_id <> h.old_id\n` +
    `union all\n` +
    `select distinct o.old_id, a.profile_id, ${run}, 'split', ${now} from ${r(overlap)} o join ${r(home)} h on h.old_id = o.old_id\n` +
    `join ${r(assign)} a on a.comp = o.comp where o.comp <> h.comp and a.profile_id <> o.old_id`;
  await p.create(staging('merges'), prevMerges
    ? `select old_profile_id, new_profile_id, run_id, reason, merged_at from ${r(prevMerges)} union all ${newMerges}`
    : newMerges);

  const [stats] = await wh.query<{ profiles: number; largest: number }>(`select count(*) as profiles, max(record_count) as largest from ${r(staging('profiles'))}`);
  const [m] = await wh.query<{ merged: number; split: number }>(
    `select sum(case when reason = 'merge' then 1 else 0 end) as merged, sum(case when reason = 'split' then 1 else 0 end) as split from ${r(staging('merges'))} where run_id = ${run}`);
  return { profiles: Number(stats.profiles), largest: Number(stats.largest ?? 0), merged: Number(m.merged ?? 0), split: Number(m.split ?? 0) };
}

/**
 * `<entity>_edges`: every accepted (record, identifier) edge with its provenance, read through
 * `edge_keys` from the two tables that hold the text. The column an identifier came from follows
 * from the source and the type (a source maps each type to one column).
 */
export function edgesViewSql(d: Dialect, sources: SourceColumns[], target: (o: IdentityOutput) => Relation): string {
  return `select sr.source, sr.record_key, i.id_type, i.id_value, ${columnNameSql(d, sources, 'sr.source', 'i.id_type')} as column_name, 'exact:' || i.id_type as rule, sr.profile_id\n` +
    `from ${d.relation(target('edge_keys'))} k\n` +
    `join ${d.relation(target('source_records'))} sr on sr.record_id = k.record_id\n` +
    `join ${d.relation(target('identifiers'))} i on i.identifier_id = k.identifier_id`;
}

type SourceColumns = Pick<ResolvedSource, 'name' | 'ids'>;

/** The source column an identifier came from: each source maps a type to one column. */
function columnNameSql(d: Dialect, sources: SourceColumns[], source: string, type: string): string {
  const pairs = sources.flatMap((s) => Object.entries(s.ids).map(([t, column]) => `when ${source} = ${d.quoteString(s.name)} and ${type} = ${d.quoteString(t)} then ${d.quoteString(column)}`));
  return pairs.length ? `case ${pairs.join(' ')} end` : d.cast('null', 'text');
}

/** Swaps the staged tables in and (re)creates the edges view over them, in one transaction. */
export async function installOutputs(
  wh: Warehouse,
  sources: SourceColumns[],
  target: (o: IdentityOutput) => Relation,
  staging: (o: IdentityOutput) => Relation,
): Promise<void> {
  const d = wh.dialect;
  await replaceAllAtomically(wh, [
    ...IDENTITY_TABLES.map((o) => ({ target: target(o), install: (tx: Executor) => tx.execute(d.rename(staging(o), 'table', target(o).name)) })),
    // Last: the view reads the tables installed before it.
    { target: target('edges'), install: (tx: Executor) => tx.execute(d.createView(target('edges'), edgesViewSql(d, sources, target))) },
  ]);
}

/** Drops what a failed build staged. */
export async function dropStagedOutputs(wh: Warehouse, staging: (o: IdentityOutput) => Relation): Promise<void> {
  for (const o of IDENTITY_TABLES) await wh.execute(wh.dialect.drop(staging(o), 'table')).catch(() => undefined);
}

export function outputRelation(schema: string, entity: string, o: IdentityOutput): Relation {
  return { schema, name: outputName(entity, o) };
}
