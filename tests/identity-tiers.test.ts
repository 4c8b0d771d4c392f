/**
 * The local engine resolves the priority tiers and limits in memory (tiers-in-memory.ts), the
 * sql engine in the warehouse. On random graphs dense with collisions, where limits bite in
 * every tier, both must give the same components and reject the same edges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityPipeline, type PipelineStats, type ResolvedSource } from '../src/identity/pipeline.js';
import { parseIdentitySpec } from '../src/identity/spec.js';
import { graphOfEdges, LIMIT_REJECTED, restrictTo } from '../src/identity/local-graph.js';
import { resolveInMemory } from '../src/identity/tiers-in-memory.js';
import { openWarehouse } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';

const TYPES = ['customer_id', 'email', 'phone', 'device'] as const;

/** A deterministic generator, so that a failing case can be replayed by its seed. */
function lcg(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

interface Case {
  seed: number;
  records: number;
  /** Distinct values per type: small pools make many collisions. */
  pools: number[];
  limits: (number | undefined)[];
}

function specYaml(c: Case, engine: string): string {
  const types = TYPES.map((t, i) => `  ${t}: { normalize: trim, priority: ${i + 1}${c.limits[i] === undefined ? '' : `, limit: ${c.limits[i]}`}, max_degree: 1000 }`);
  return `entity: person\nengine: ${engine}\nid_types:\n${types.join('\n')}\nsources:\n  - from: src\n    key: id\n    ids: { ${TYPES.map((t) => `${t}: ${t}`).join(', ')} }\n`;
}

async function loadSource(wh: Warehouse, c: Case): Promise<void> {
  const rand = lcg(c.seed);
  await wh.execute('create schema if not exists raw');
  await wh.execute('drop table if exists raw.src');
  await wh.execute(`create table raw.src (id text, ${TYPES.map((t) => `${t} text`).join(', ')})`);
  const rows: unknown[][] = [];
  for (let r = 0; r < c.records; r++) {
    // Each identifier is present two times in three; values are drawn from the type's pool.
    rows.push([`r${r}`, ...TYPES.map((t, i) => (rand(3) === 0 ? null : `${t[0]}${rand(c.pools[i])}`))]);
  }
  await wh.bulkLoad({ schema: 'raw', name: 'src' }, [{ name: 'id', type: 'text' }, ...TYPES.map((t) => ({ name: t, type: 'text' as const }))], (async function* () { yield rows; })());
}

async function resolveWith(wh: Warehouse, c: Case, engine: string): Promise<{ comp: string[]; rejected: string[]; stats: PipelineStats }> {
  const spec = parseIdentitySpec(specYaml(c, engine), 'person.identity.yml');
  const sources: ResolvedSource[] = [{ name: 'src', relation: { schema: 'raw', name: 'src' }, key: 'id', ids: Object.fromEntries(TYPES.map((t) => [t, t])) }];
  const schema = `tiers_${engine}`;
  await wh.execute(`create schema if not exists ${schema}`);
  const stats: PipelineStats = {
    engine: 'local', records: 0, raw_identifiers: 0, empty_values: 0, edges: 0, rejected: {}, component_runs: 0, rounds: 0,
    largest_profile: 0, profiles: 0, unresolved_limit_violations: 0,
  };
  const p = new IdentityPipeline({ wh, spec, sources, schema, fullRefresh: true });
  const { records, classified } = await p.extract(stats);
  const { final, limitRejected, ids } = await p.resolve(records, classified, stats);
  // By record key and identifier value: the two runs number records independently.
  const members = await wh.query<{ record_key: string; comp: number }>(`select r.record_key, f.comp from ${p.rel(final)} f join ${p.rel(records)} r on r.rec_id = f.rec_id`);
  const groups = new Map<number, string[]>();
  for (const m of members) groups.set(Number(m.comp), [...(groups.get(Number(m.comp)) ?? []), m.record_key]);
  const comp = [...groups.values()].map((g) => g.sort().join(' ')).sort();
  const rejected = (await wh.query<{ record_key: string; id_type: string; id_value: string }>(
    `select r.record_key, i.id_type, i.id_value from ${p.rel(limitRejected)} x join ${p.rel(records)} r on r.rec_id = x.rec_id join ${p.rel(ids)} i on i.id_node = x.id_node`))
    .map((r) => `${r.record_key}:${r.id_type}:${r.id_value}`).sort();
  await p.dropScratch();
  return { comp, rejected, stats };
}

describe('tiers in memory (local engine) and in SQL (sql engine)', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await openWarehouse({ type: 'duckdb', path: ':memory:' });
  });
  afterAll(async () => {
    await wh.close();
  });

  const cases: Case[] = [];
  const limitSets: (number | undefined)[][] = [
    [1, 2, 2, undefined],
    [1, 1, 1, 3],
    [undefined, 2, undefined, 2],
    [undefined, undefined, undefined, undefined],
    [2, undefined, 1, undefined],
  ];
  for (let seed = 1; seed <= 20; seed++) {
    const rand = lcg(seed * 7919);
    cases.push({
      seed,
      records: 150 + rand(250),
      pools: TYPES.map(() => 20 + rand(120)),
      limits: limitSets[seed % limitSets.length],
    });
  }

  it.each(cases)('agree on random graph $seed (limits $limits)', async (c) => {
    await loadSource(wh, c);
    const local = await resolveWith(wh, c, 'local');
    const sql = await resolveWith(wh, c, 'sql');
    expect(local.stats.engine).toBe('local');
    expect(sql.stats.engine).toBe('sql');
    expect(local.comp).toEqual(sql.comp);
    expect(local.rejected).toEqual(sql.rejected);
    expect(local.stats.component_runs).toBe(sql.stats.component_runs);
    expect(local.stats.unresolved_limit_violations).toBe(sql.stats.unresolved_limit_violations);
    // The cases must exercise the limits, not only plain components.
    if (c.limits.some((l) => l !== undefined)) expect(local.rejected.length).toBeGreaterThan(0);
  });

  it('agree on an empty source', async () => {
    const empty: Case = { seed: 0, records: 0, pools: [1, 1, 1, 1], limits: [1, 2, undefined, undefined] };
    await loadSource(wh, empty);
    const local = await resolveWith(wh, empty, 'local');
    expect(local.comp).toEqual([]);
    expect(local.rejected).toEqual([]);
    expect(await resolveWith(wh, empty, 'sql')).toMatchObject({ comp: [], rejected: [] });
  });

  it('handles no records, no edges and tiers without edges', () => {
    const none = { rec: new Int32Array(0), node: new Int32Array(0), tier: new Uint8Array(0) };
    expect(resolveInMemory(0, none, [{ limit: 1 }, {}])).toMatchObject({ componentRuns: 2, unresolvedLimitViolations: 0 });
    const isolated = resolveInMemory(3, none, [{ limit: 1 }]);
    expect([...isolated.comp.subarray(1)]).toEqual([1, 2, 3]);
    // Only the last tier has edges; identifier numbers start above the records and have gaps.
    const lastOnly = resolveInMemory(3, { rec: Int32Array.of(1, 3), node: Int32Array.of(9, 9), tier: Uint8Array.of(2, 2) }, [{ limit: 1 }, { limit: 2 }, {}]);
    expect([...lastOnly.comp.subarray(1)]).toEqual([1, 2, 1]);
    expect([...lastOnly.rejected]).toEqual([0, 0]);
  });

  it('labels each component by its smallest record and enforces a single-tier limit by value order', () => {
    // Records 1-4; identifiers 5 (type 0, limit 1) and 6, 7 (type 0). Record 1 carries 5 and 6,
    // record 2 carries 6, record 3 carries 7 and 5; record 4 carries nothing.
    const edges = { rec: Int32Array.of(1, 1, 2, 3, 3), node: Int32Array.of(5, 6, 6, 7, 5), tier: Uint8Array.of(0, 0, 0, 0, 0) };
    const r = resolveInMemory(4, edges, [{ limit: 1 }]);
    // 5, 6 and 7 meet in one component. 5 and 6 have two edges each, 7 one: the tie goes to the
    // smaller number, so 5 stays and the edges of 6 and 7 are rejected.
    expect([...r.rejected]).toEqual([0, 1, 1, 1, 0]);
    expect([...r.comp.subarray(1)]).toEqual([1, 2, 1, 4]);
    expect(r.unresolvedLimitViolations).toBe(0);
  });
});

describe('the local graph restricted to violating components', () => {
  it('renumbers records and identifiers in their order, keeps accepted edges up to the tier, and maps back', () => {
    // Records 1-5; identifiers 10, 11 (tier 0), 12 (tier 1), 13 (tier 2).
    const edges = {
      rec: Int32Array.of(2, 4, 4, 5, 1, 5, 2),
      node: Int32Array.of(11, 11, 12, 13, 10, 10, 12),
      tier: Uint8Array.of(0, 0, 1, 2, 0, 0, 1),
    };
    const g = graphOfEdges(5, edges);
    // The edge 2-12 is already rejected by a limit, so it stays out.
    g.mark[[...g.origin].indexOf(6)] = LIMIT_REJECTED;
    const { graph: sub, parentRecord, localRecord } = restrictTo(g, (r) => r === 2 || r === 4 || r === 5, 1);
    expect([...parentRecord.subarray(1)]).toEqual([2, 4, 5]);
    expect([localRecord[2], localRecord[4], localRecord[5], localRecord[1]]).toEqual([1, 2, 3, 0]);
    // Identifiers 10, 11, 12 become 4, 5, 6 (13 is of a later tier); records 1-3 stand for 2, 4, 5.
    const local = [...sub.origin].map((p, i) => [sub.posRec[i], sub.posNode[i], g.origin[p]]).sort((a, b) => a[2] - b[2]);
    expect(local).toEqual([[1, 5, 0], [2, 5, 1], [2, 6, 2], [3, 4, 5]]);
    expect([...sub.tierOf.subarray(4)]).toEqual([0, 0, 1]);
  });
});
