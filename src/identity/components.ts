/**
 * Connected components over integer edges, two interchangeable engines:
 * - `local`: streams integer pairs (never PII) to the process, runs union-find over typed
 *   arrays, and bulk-loads the labels back;
 * - `sql`: min-label hooking plus pointer jumping, in the warehouse, in O(log n) rounds on
 *   long chains, until nothing changes (with an iteration guard).
 * Both label every node with the smallest node number of its component, so they return
 * identical partitions.
 */
import { CdpError, EXIT_FAILURE } from '../errors.js';
import type { Relation, Warehouse } from '../warehouse/types.js';

export type EngineName = 'local' | 'sql';

export interface ComponentStats {
  engine: EngineName;
  rounds: number;
  nodes: number;
  edges: number;
}

/** Which labels an engine writes to `out`; by default, every node on an edge. */
export interface LabelFilter {
  /** Only nodes below this number (the identity pipeline reads back record labels only). */
  below?: number;
  /** Leave out nodes that label themselves: a node missing from `out` is its own label. */
  changedOnly?: boolean;
}

/** Input: `edges(a bigint, b bigint)`. Output: creates `out(node bigint, comp bigint)` for the nodes on an edge that `filter` keeps. */
export interface ComponentEngine {
  readonly name: EngineName;
  run(wh: Warehouse, edges: Relation, out: Relation, filter?: LabelFilter): Promise<ComponentStats>;
}

const BATCH = 65_536;
/** Node numbers the local engine keeps in 32-bit arrays go up to this. */
export const INT32_MAX = 2 ** 31 - 1;

/** Union-find with path halving and union by size; labels are component minimums. */
class UnionFind {
  readonly parent: Int32Array;
  private readonly size: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
  }
}

/**
 * Integer columns per batch: through the warehouse's columnar path when it has one (five times
 * faster on DuckDB than row objects), else through row streaming.
 */
async function* intColumns(wh: Warehouse, sql: string, width: number, int32: boolean): AsyncIterable<ArrayLike<number>[]> {
  if (int32 && wh.streamInt32) {
    yield* wh.streamInt32(sql);
    return;
  }
  for await (const batch of wh.stream<Record<string, unknown>>(sql, [], BATCH)) {
    const columns = Array.from({ length: width }, () => new Float64Array(batch.length));
    batch.forEach((row, i) => Object.values(row).forEach((v, c) => (columns[c][i] = Number(v))));
    yield columns;
  }
}

/**
 * The identity tiers' edges (`rec_id`, `id_node`, `tier` columns, in that order) as typed arrays,
 * read once; `expected` sizes the arrays (the edge count), which grow if it was short.
 */
export async function readEdgeArrays(wh: Warehouse, sql: string, expected: number): Promise<{ rec: Int32Array; node: Int32Array; tier: Uint8Array }> {
  let rec = new Int32Array(expected);
  let node = new Int32Array(expected);
  let tier = new Uint8Array(expected);
  let n = 0;
  for await (const [a, b, t] of intColumns(wh, sql, 3, true)) {
    if (n + a.length > rec.length) {
      const size = Math.max(n + a.length, rec.length * 2);
      const grow = <T extends Int32Array | Uint8Array>(old: T, make: (k: number) => T) => { const x = make(size); x.set(old); return x; };
      rec = grow(rec, (k) => new Int32Array(k));
      node = grow(node, (k) => new Int32Array(k));
      tier = grow(tier, (k) => new Uint8Array(k));
    }
    rec.set(a, n);
    node.set(b, n);
    tier.set(t, n);
    n += a.length;
  }
  return { rec: rec.subarray(0, n), node: node.subarray(0, n), tier: tier.subarray(0, n) };
}

/** Loads equal-length integer columns into `table` (bigint columns), columnar where the warehouse can. */
export async function loadInt32Columns(wh: Warehouse, table: Relation, columns: Int32Array[]): Promise<void> {
  const rows = columns[0]?.length ?? 0;
  if (wh.appendInt32) {
    await wh.appendInt32(table, (async function* () {
      for (let at = 0; at < rows; at += BATCH) yield columns.map((c) => c.subarray(at, Math.min(rows, at + BATCH)));
    })());
    return;
  }
  const cols = await wh.columns(table);
  await wh.bulkLoad(table, cols.map((c) => ({ name: c.name, type: 'bigint' as const })), (async function* () {
    for (let at = 0; at < rows; at += BATCH) {
      const batch: unknown[][] = [];
      for (let i = at; i < Math.min(rows, at + BATCH); i++) batch.push(columns.map((c) => c[i]));
      yield batch;
    }
  })());
}

/** Node and label columns in batches, for the columnar write path. */
async function* labelColumns(rows: Iterable<[number, number]>): AsyncGenerator<Int32Array[]> {
  let node = new Int32Array(BATCH);
  let comp = new Int32Array(BATCH);
  let n = 0;
  for (const [x, c] of rows) {
    node[n] = x;
    comp[n] = c;
    if (++n === BATCH) {
      yield [node, comp];
      node = new Int32Array(BATCH);
      comp = new Int32Array(BATCH);
      n = 0;
    }
  }
  if (n) yield [node.subarray(0, n), comp.subarray(0, n)];
}

async function* labelRows(rows: Iterable<[number, number]>): AsyncGenerator<unknown[][]> {
  let batch: unknown[][] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

export const localEngine: ComponentEngine = {
  name: 'local',
  async run(wh, edges, out, filter = {}) {
    const d = wh.dialect;
    const [{ lo, hi, n }] = await wh.query<{ lo: number | null; hi: number | null; n: number }>(
      `select min(least(a, b)) as lo, max(greatest(a, b)) as hi, count(*) as n from ${d.relation(edges)}`,
    );
    const columns = [{ name: 'node', type: 'bigint' as const }, { name: 'comp', type: 'bigint' as const }];
    await wh.execute(d.drop(out, 'table'));
    await wh.execute(d.createTable(out, columns));
    if (lo === null || hi === null) return { engine: 'local', rounds: 1, nodes: 0, edges: 0 };
    const base = Number(lo);
    const span = Number(hi) - base + 1;
    if (span > INT32_MAX) throw new CdpError(`identity graph too large for the local engine (${span} node numbers)`, { exitCode: EXIT_FAILURE, hint: 'set engine: sql in the identity spec' });
    const int32 = Number(lo) >= -INT32_MAX && Number(hi) <= INT32_MAX;
    const uf = new UnionFind(span);
    const seen = new Uint8Array(span);
    for await (const [as, bs] of intColumns(wh, `select a, b from ${d.relation(edges)}`, 2, int32)) {
      for (let i = 0; i < as.length; i++) {
        const a = as[i] - base;
        const b = bs[i] - base;
        seen[a] = 1;
        seen[b] = 1;
        uf.union(a, b);
      }
    }
    // The smallest member of each root's component: the label both engines agree on.
    const minOf = new Int32Array(span).fill(-1);
    for (let i = 0; i < span; i++) {
      if (!seen[i]) continue;
      const r = uf.find(i);
      if (minOf[r] === -1) minOf[r] = i; // i ascends, so the first member seen is the minimum
    }
    let nodes = 0;
    const end = filter.below === undefined ? span : Math.max(0, Math.min(span, filter.below - base));
    function* labels(): Generator<[number, number]> {
      for (let i = 0; i < span; i++) {
        if (!seen[i]) continue;
        nodes++;
        if (i >= end) continue;
        const label = minOf[uf.find(i)];
        if (filter.changedOnly && label === i) continue;
        yield [i + base, label + base];
      }
    }
    if (int32 && wh.appendInt32) await wh.appendInt32(out, labelColumns(labels()));
    else await wh.bulkLoad(out, columns, labelRows(labels()));
    return { engine: 'local', rounds: 1, nodes, edges: Number(n) };
  },
};

export const DEFAULT_MAX_ROUNDS = 200;

export function sqlEngine(maxRounds = DEFAULT_MAX_ROUNDS): ComponentEngine {
  return {
    name: 'sql',
    async run(wh, edges, out, filter = {}) {
      const d = wh.dialect;
      const rel = (suffix: string): Relation => ({ ...out, name: `${out.name}_${suffix}` });
      const adj = rel('adj');
      const cur = rel('p');
      const hooked = rel('h');
      const next = rel('n');
      const drop = async (...rs: Relation[]) => {
        for (const r of rs) await wh.execute(d.drop(r, 'table'));
      };
      await drop(adj, cur, hooked, next, out);
      try {
        await wh.execute(d.createTableAs(adj, `select a as x, b as y from ${d.relation(edges)} union all select b as x, a as y from ${d.relation(edges)}`));
        // Round 0: every node points at its smallest neighbour (or itself).
        await wh.execute(d.createTableAs(cur, `select x as node, least(min(y), x) as p from ${d.relation(adj)} group by x`));
        const [{ n: nodes }] = await wh.query<{ n: number }>(`select count(*) as n from ${d.relation(cur)}`);
        let rounds = 1;
        for (;; rounds++) {
          if (rounds > maxRounds) {
            throw new CdpError(`connected components did not converge in ${maxRounds} rounds`, { exitCode: EXIT_FAILURE, hint: 'raise max_rounds in the identity spec, or use engine: local' });
          }
          // Hook: take the smallest label among the neighbours' labels.
          await wh.execute(d.createTableAs(hooked,
            `select c.node, least(c.p, coalesce(m.p, c.p)) as p from ${d.relation(cur)} c\n` +
            `left join (select a.x as node, min(pc.p) as p from ${d.relation(adj)} a join ${d.relation(cur)} pc on pc.node = a.y group by a.x) m on m.node = c.node`));
          // Pointer jumping, twice: p := p[p[p]] halves the distance to the root each time.
          await wh.execute(d.createTableAs(next,
            `select h.node, h3.p from ${d.relation(hooked)} h join ${d.relation(hooked)} h2 on h2.node = h.p join ${d.relation(hooked)} h3 on h3.node = h2.p`));
          const [{ changed }] = await wh.query<{ changed: number }>(
            `select count(*) as changed from ${d.relation(next)} n join ${d.relation(cur)} c on c.node = n.node where n.p <> c.p`,
          );
          await drop(cur, hooked);
          await wh.execute(d.rename(next, 'table', cur.name));
          if (Number(changed) === 0) break;
        }
        const keep = [filter.below === undefined ? '' : `node < ${filter.below}`, filter.changedOnly ? 'p <> node' : ''].filter(Boolean);
        await wh.execute(d.createTableAs(out, `select node, p as comp from ${d.relation(cur)}${keep.length ? ` where ${keep.join(' and ')}` : ''}`));
        const [{ n: edgeCount }] = await wh.query<{ n: number }>(`select count(*) as n from ${d.relation(edges)}`);
        return { engine: 'sql' as const, rounds, nodes: Number(nodes), edges: Number(edgeCount) };
      } finally {
        await drop(adj, cur, hooked, next);
      }
    },
  };
}

export function engineFor(name: EngineName, maxRounds?: number): ComponentEngine {
  return name === 'local' ? localEngine : sqlEngine(maxRounds);
}
