/**
 * Degree caps: the local engine applies them in memory (degree-caps.ts), the sql engine in the
 * warehouse. On random graphs where the caps bite, both must quarantine the same identifiers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { degreeCapSql, sharedInMemory } from '../src/identity/degree-caps.js';
import type { InMemoryEdges } from '../src/identity/tiers-in-memory.js';
import { openWarehouse } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';

const TYPES = ['customer_id', 'email', 'phone', 'device'];

function lcg(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

/**
 * Records 1..records, each with a value of some types drawn from small pools (so values recur
 * across many records); identifiers are numbered above the records, one range per type.
 */
function randomGraph(seed: number, records: number, pools: number[]): InMemoryEdges {
  const rand = lcg(seed);
  const rec: number[] = [];
  const node: number[] = [];
  const tier: number[] = [];
  const base = pools.map((_, t) => records + 1 + pools.slice(0, t).reduce((a, b) => a + b, 0));
  for (let r = 1; r <= records; r++) {
    pools.forEach((pool, t) => {
      if (rand(3) === 0) return;
      rec.push(r);
      node.push(base[t] + rand(pool));
      tier.push(t);
    });
  }
  return { rec: Int32Array.from(rec), node: Int32Array.from(node), tier: Uint8Array.from(tier) };
}

function flagged(flags: Uint8Array): number[] {
  const out: number[] = [];
  flags.forEach((f, x) => { if (f) out.push(x); });
  return out;
}

describe('degree caps', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await openWarehouse({ type: 'duckdb', path: ':memory:' });
    await wh.execute('create schema caps');
  });
  afterAll(async () => {
    await wh.close();
  });

  async function sqlShared(edges: InMemoryEdges, caps: number[]): Promise<number[]> {
    await wh.execute('drop table if exists caps.enc');
    await wh.execute('create table caps.enc (rec_id bigint, id_type text, id_node bigint)');
    const rows = Array.from(edges.rec, (r, i) => [r, TYPES[edges.tier[i]], edges.node[i]]);
    if (rows.length) {
      await wh.bulkLoad({ schema: 'caps', name: 'enc' }, [{ name: 'rec_id', type: 'bigint' }, { name: 'id_type', type: 'text' }, { name: 'id_node', type: 'bigint' }], (async function* () { yield rows; })());
    }
    const sql = degreeCapSql(wh.dialect, 'caps.enc', TYPES.map((name, t) => ({ name, maxDegree: caps[t] })));
    return (await wh.query<{ id_node: number }>(`${sql} order by 1`)).map((r) => Number(r.id_node));
  }

  it('quarantines the same identifiers as the SQL rule on random graphs', async () => {
    let bitten = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const rand = lcg(seed * 7919);
      const records = 50 + rand(400);
      const pools = TYPES.map(() => 3 + rand(60));
      const caps = TYPES.map(() => 1 + rand(6));
      const edges = randomGraph(seed, records, pools);
      const expected = await sqlShared(edges, caps);
      bitten += expected.length;
      expect(flagged(sharedInMemory(records, edges, caps)), `seed ${seed}`).toEqual(expected);
    }
    // The comparison means something only if the caps bit.
    expect(bitten).toBeGreaterThan(50);
  });

  it('counts distinct values per other type, ignores its own type, and caps by the identifier type', async () => {
    // Records 1-3; identifiers: 10 (email) with phones 20, 21, 22 through three records;
    // 11 (email) sits on record 1 next to 10, which is its own type and does not count;
    // 20 (phone) meets two emails on record 1.
    const edges: InMemoryEdges = {
      rec: Int32Array.from([1, 2, 3, 1, 2, 3, 1]),
      node: Int32Array.from([10, 10, 10, 20, 21, 22, 11]),
      tier: Uint8Array.from([1, 1, 1, 2, 2, 2, 1]),
    };
    // Email cap 2: 10 meets three phones, shared; phone cap 2: 20 meets two emails, kept.
    expect(flagged(sharedInMemory(3, edges, [5, 2, 2, 5]))).toEqual([10]);
    expect(await sqlShared(edges, [5, 2, 2, 5])).toEqual([10]);
    // Phone cap 1: 20 is shared as well.
    expect(flagged(sharedInMemory(3, edges, [5, 2, 1, 5]))).toEqual([10, 20]);
    expect(await sqlShared(edges, [5, 2, 1, 5])).toEqual([10, 20]);
    // Email cap 1: 11 meets one phone, kept; its own type (10 on the same record) does not count.
    expect(flagged(sharedInMemory(3, edges, [5, 1, 2, 5]))).toEqual([10]);
    expect(await sqlShared(edges, [5, 1, 2, 5])).toEqual([10]);
    // No edges: nothing shared.
    expect(flagged(sharedInMemory(0, { rec: new Int32Array(0), node: new Int32Array(0), tier: new Uint8Array(0) }, [1, 1, 1, 1]))).toEqual([]);
  });
});
