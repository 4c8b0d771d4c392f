/**
 * `cdp identity explain` and `cdp identity stats`: why a profile looks the way it does,
 * read from the identity outputs in the warehouse.
 */
import { CdpError, EXIT_FAILURE } from '../errors.js';
import type { Relation, Warehouse } from '../warehouse/types.js';
import { normalizeSql } from './normalize.js';
import { outputName, type IdentityOutput, type IdentitySpec } from './spec.js';

export interface ExplainHop {
  source: string;
  record_key: string;
  /** The identifier reached through this record. */
  to: { id_type: string; id_value: string };
}

export interface Explanation {
  query: { id_type: string; id_value: string };
  profile_id: string | null;
  identifiers: { id_type: string; id_value: string; record_count: number; first_seen: unknown; last_seen: unknown }[];
  sources: { source: string; records: number }[];
  /** For each other identifier: the chain of records that joins it to the queried one. */
  paths: { to: { id_type: string; id_value: string }; hops: ExplainHop[] }[];
  /** Where the value was turned away, if it was. */
  rejected: { source: string; record_key: string; reason: string }[];
}

export function outputs(spec: IdentitySpec, schema: string): (o: IdentityOutput) => string {
  return (o) => `${quote(schema)}.${quote(outputName(spec.entity, o))}`;
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function explainIdentifier(wh: Warehouse, spec: IdentitySpec, schema: string, typeAndValue: string): Promise<Explanation> {
  const sep = typeAndValue.indexOf(':');
  const type = spec.idTypes.find((t) => t.name === typeAndValue.slice(0, sep));
  if (sep < 1 || !type) {
    throw new CdpError(`expected <type>:<value>, e.g. email:ann@example.com, not "${typeAndValue}"`, { hint: `identifier types of ${spec.entity}: ${spec.idTypes.map((t) => t.name).join(', ')}` });
  }
  const raw = typeAndValue.slice(sep + 1);
  const out = outputs(spec, schema);
  await requireOutputs(wh, spec, schema);
  // The value is normalised the way the pipeline does it, so `ANN@Example.com ` finds ann@example.com.
  const [{ v }] = await wh.query<{ v: string | null }>(`select ${normalizeSql(type.normalizer, '$1', type.options, wh.dialect)} as v`, [raw]);
  const query = { id_type: type.name, id_value: v ?? raw };
  const rejected = await wh.query<{ source: string; record_key: string; reason: string }>(
    `select source, record_key, reason from ${out('rejected_edges')} where id_type = $1 and (id_value = $2 or raw_value = $3) order by source, record_key limit 50`, [type.name, query.id_value, raw]);
  const [hit] = await wh.query<{ profile_id: string }>(`select profile_id from ${out('identifiers')} where id_type = $1 and id_value = $2 limit 1`, [type.name, query.id_value]);
  if (!hit) return { query, profile_id: null, identifiers: [], sources: [], paths: [], rejected };

  const identifiers = await wh.query<Explanation['identifiers'][number]>(
    `select id_type, id_value, record_count, first_seen, last_seen from ${out('identifiers')} where profile_id = $1 order by id_type, id_value`, [hit.profile_id]);
  const sources = await wh.query<{ source: string; records: number }>(
    `select source, count(*) as records from ${out('source_records')} where profile_id = $1 group by source order by source`, [hit.profile_id]);
  const edges = await wh.query<{ source: string; record_key: string; id_type: string; id_value: string }>(
    `select source, record_key, id_type, id_value from ${out('edges')} where profile_id = $1`, [hit.profile_id]);
  return { query, profile_id: hit.profile_id, identifiers, sources, paths: shortestPaths(query, edges), rejected };
}

/** Breadth-first search over the profile's record–identifier graph, from the queried identifier. */
export function shortestPaths(
  from: { id_type: string; id_value: string },
  edges: { source: string; record_key: string; id_type: string; id_value: string }[],
): Explanation['paths'] {
  const idKey = (t: string, v: string) => `${t}\u0000${v}`;
  const recKey = (s: string, k: string) => `${s}\u0000${k}`;
  const byId = new Map<string, { source: string; record_key: string }[]>();
  const byRec = new Map<string, { id_type: string; id_value: string }[]>();
  for (const e of edges) {
    const ik = idKey(e.id_type, e.id_value);
    const rk = recKey(e.source, e.record_key);
    byId.set(ik, [...(byId.get(ik) ?? []), { source: e.source, record_key: e.record_key }]);
    byRec.set(rk, [...(byRec.get(rk) ?? []), { id_type: e.id_type, id_value: e.id_value }]);
  }
  const start = idKey(from.id_type, from.id_value);
  const via = new Map<string, { prev: string; hop: ExplainHop }>();
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) {
    const cur = queue.shift()!;
    const recs = [...(byId.get(cur) ?? [])].sort((a, b) => a.source.localeCompare(b.source) || a.record_key.localeCompare(b.record_key));
    for (const rec of recs) {
      for (const next of byRec.get(recKey(rec.source, rec.record_key)) ?? []) {
        const nk = idKey(next.id_type, next.id_value);
        if (seen.has(nk)) continue;
        seen.add(nk);
        via.set(nk, { prev: cur, hop: { source: rec.source, record_key: rec.record_key, to: next } });
        queue.push(nk);
      }
    }
  }
  const paths: Explanation['paths'] = [];
  for (const [key, { hop }] of via) {
    const hops: ExplainHop[] = [hop];
    for (let k = via.get(key)!.prev; k !== start; k = via.get(k)!.prev) hops.unshift(via.get(k)!.hop);
    paths.push({ to: hop.to, hops });
  }
  return paths.sort((a, b) => a.hops.length - b.hops.length || a.to.id_type.localeCompare(b.to.id_type) || a.to.id_value.localeCompare(b.to.id_value));
}

export interface IdentityStats {
  entity: string;
  profiles: number;
  records: number;
  size_distribution: { bucket: string; profiles: number }[];
  largest: { profile_id: string; record_count: number; identifier_count: number; source_count: number }[];
  rejected: { reason: string; id_type: string; edges: number }[];
  merges: { reason: string; count: number }[];
}

const BUCKETS: [string, number, number][] = [['1', 1, 1], ['2', 2, 2], ['3-5', 3, 5], ['6-10', 6, 10], ['11-50', 11, 50], ['51-100', 51, 100], ['101-1000', 101, 1000], ['>1000', 1001, Number.MAX_SAFE_INTEGER]];

export async function identityStats(wh: Warehouse, spec: IdentitySpec, schema: string, top = 10): Promise<IdentityStats> {
  const out = outputs(spec, schema);
  await requireOutputs(wh, spec, schema);
  const [totals] = await wh.query<{ profiles: number; records: number }>(`select count(*) as profiles, coalesce(sum(record_count), 0) as records from ${out('profiles')}`);
  const bucketCase = `case ${BUCKETS.map(([label, lo, hi]) => `when record_count between ${lo} and ${hi} then '${label}'`).join(' ')} end`;
  const dist = await wh.query<{ bucket: string; profiles: number }>(`select ${bucketCase} as bucket, count(*) as profiles from ${out('profiles')} group by 1`);
  const order = BUCKETS.map(([b]) => b);
  return {
    entity: spec.entity,
    profiles: Number(totals.profiles),
    records: Number(totals.records),
    size_distribution: dist.map((d) => ({ bucket: d.bucket, profiles: Number(d.profiles) })).sort((a, b) => order.indexOf(a.bucket) - order.indexOf(b.bucket)),
    largest: await wh.query(`select profile_id, record_count, identifier_count, source_count from ${out('profiles')} order by record_count desc, profile_id limit ${top}`),
    rejected: await wh.query(`select reason, id_type, count(*) as edges from ${out('rejected_edges')} group by reason, id_type order by reason, id_type`),
    merges: await wh.query(`select reason, count(*) as count from ${out('merges')} group by reason order by reason`),
  };
}

async function requireOutputs(wh: Warehouse, spec: IdentitySpec, schema: string): Promise<void> {
  const rel: Relation = { schema, name: outputName(spec.entity, 'profiles') };
  const exists = (await wh.relations(schema)).some((r) => r.name === rel.name);
  if (!exists) {
    throw new CdpError(`the ${spec.entity} identity graph has not been built on this target yet`, { exitCode: EXIT_FAILURE, hint: `run: cdp build --select +${spec.entity}_identity` });
  }
}
