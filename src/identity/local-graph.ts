/**
 * The integer identity graph the `local` engine works on in the process: records numbered
 * 1..records, identifiers numbered above them, and one position per (record, identifier) edge,
 * grouped by identifier (positions of node x: nodeStart[x]..nodeStart[x+1]) and indexed by
 * record as well. Only integers are involved, so no PII leaves the warehouse.
 *
 * Built once from the edges read from the warehouse; degree caps (degree-caps.ts) and the limit
 * tiers (tiers-in-memory.ts) then work on it in place, and a tier's later rounds work on a
 * restriction of it (`restrictTo`) that holds only the components still over a limit.
 */

export interface InMemoryEdges {
  /** Record number (1..records) of each edge. */
  rec: Int32Array;
  /** Identifier number (above records) of each edge. */
  node: Int32Array;
  /** Tier index (position in priority order) of each edge's identifier type. */
  tier: Uint8Array;
}

/** Edge marks, by position. */
export const ACCEPTED = 0;
/** Rejected by a limit. */
export const LIMIT_REJECTED = 1;
/** The identifier is shared (degree caps): none of its edges takes part in the tiers. */
export const SHARED = 2;

export interface LocalGraph {
  records: number;
  maxNode: number;
  /** Positions of identifier x: nodeStart[x]..nodeStart[x+1]. */
  nodeStart: Int32Array;
  posRec: Int32Array;
  posNode: Int32Array;
  /** Where each position came from: the input edge index, or the parent graph's position. */
  origin: Int32Array;
  /** ACCEPTED, LIMIT_REJECTED or SHARED per position. */
  mark: Uint8Array;
  /** Positions of record r: recPos[recStart[r]..recStart[r+1]]. */
  recStart: Int32Array;
  recPos: Int32Array;
  /** The tier of each identifier. */
  tierOf: Uint8Array;
}

/** Groups edges by identifier and by record (two counting sorts). */
export function buildGraph(records: number, maxNode: number, rec: Int32Array, node: Int32Array, origin: Int32Array, tierOf: Uint8Array): LocalGraph {
  const E = rec.length;
  const nodeStart = new Int32Array(maxNode + 2);
  for (let i = 0; i < E; i++) nodeStart[node[i] + 1]++;
  for (let x = 1; x <= maxNode + 1; x++) nodeStart[x] += nodeStart[x - 1];
  const fill = nodeStart.slice(0, maxNode + 1);
  const posRec = new Int32Array(E);
  const posNode = new Int32Array(E);
  const posOrigin = new Int32Array(E);
  for (let i = 0; i < E; i++) {
    const p = fill[node[i]]++;
    posRec[p] = rec[i];
    posNode[p] = node[i];
    posOrigin[p] = origin[i];
  }
  const recStart = new Int32Array(records + 2);
  for (let p = 0; p < E; p++) recStart[posRec[p] + 1]++;
  for (let r = 1; r <= records + 1; r++) recStart[r] += recStart[r - 1];
  const recFill = recStart.slice(0, records + 1);
  const recPos = new Int32Array(E);
  for (let p = 0; p < E; p++) recPos[recFill[posRec[p]]++] = p;
  return { records, maxNode, nodeStart, posRec, posNode, origin: posOrigin, mark: new Uint8Array(E), recStart, recPos, tierOf };
}

/** The graph of edges read from the warehouse; `origin` is the edge's index in the input. */
export function graphOfEdges(records: number, edges: InMemoryEdges): LocalGraph {
  const E = edges.rec.length;
  let maxNode = records;
  for (let i = 0; i < E; i++) if (edges.node[i] > maxNode) maxNode = edges.node[i];
  const tierOf = new Uint8Array(maxNode + 1);
  for (let i = 0; i < E; i++) tierOf[edges.node[i]] = edges.tier[i];
  const origin = new Int32Array(E);
  for (let i = 0; i < E; i++) origin[i] = i;
  return buildGraph(records, maxNode, edges.rec, edges.node, origin, tierOf);
}

/** Per tier, the identifiers with at least one edge that is not SHARED, in ascending order. */
export function tierNodes(g: LocalGraph, tierCount: number): Int32Array[] {
  const live = (x: number) => g.nodeStart[x + 1] > g.nodeStart[x] && g.mark[g.nodeStart[x]] !== SHARED;
  const counts = new Int32Array(tierCount);
  for (let x = g.records + 1; x <= g.maxNode; x++) if (live(x)) counts[g.tierOf[x]]++;
  const lists = Array.from(counts, (n) => new Int32Array(n));
  const at = new Int32Array(tierCount);
  for (let x = g.records + 1; x <= g.maxNode; x++) if (live(x)) lists[g.tierOf[x]][at[g.tierOf[x]]++] = x;
  return lists;
}

/** A graph restricted to some of its records, with the maps back to the parent. */
export interface Restriction {
  graph: LocalGraph;
  /** The parent's record number of each record of the restriction (index 0 unused). */
  parentRecord: Int32Array;
  /** The restriction's number of each parent record (0: not in it). */
  localRecord: Int32Array;
}

/**
 * The records for which `keep(r)` holds, with their accepted edges to identifiers of tiers up
 * to `maxTier`, renumbered: records 1..n and identifiers above them in their parent order, so
 * that "smallest record" and "smallest identifier" mean the same in both graphs.
 */
export function restrictTo(g: LocalGraph, keep: (r: number) => boolean, maxTier: number): Restriction {
  const localRecord = new Int32Array(g.records + 1);
  let n = 0;
  for (let r = 1; r <= g.records; r++) if (keep(r)) localRecord[r] = ++n;
  const parentRecord = new Int32Array(n + 1);
  for (let r = 1; r <= g.records; r++) if (localRecord[r]) parentRecord[localRecord[r]] = r;

  // The kept positions, counted first and then listed, and their identifiers numbered in order.
  const keeps = (p: number) => g.mark[p] === ACCEPTED && g.tierOf[g.posNode[p]] <= maxTier;
  const localNode = new Int32Array(g.maxNode + 1);
  const eachKept = (visit: (s: number, p: number) => void) => {
    for (let s = 1; s <= n; s++) {
      const r = parentRecord[s];
      for (let j = g.recStart[r]; j < g.recStart[r + 1]; j++) if (keeps(g.recPos[j])) visit(s, g.recPos[j]);
    }
  };
  let count = 0;
  eachKept((_, p) => {
    count++;
    localNode[g.posNode[p]] = 1;
  });
  let maxNode = n;
  for (let x = g.records + 1; x <= g.maxNode; x++) if (localNode[x]) localNode[x] = ++maxNode;
  const tierOf = new Uint8Array(maxNode + 1);
  for (let x = g.records + 1; x <= g.maxNode; x++) if (localNode[x]) tierOf[localNode[x]] = g.tierOf[x];
  const positions = new Int32Array(count);
  const rec = new Int32Array(count);
  const node = new Int32Array(count);
  let i = 0;
  eachKept((s, p) => {
    positions[i] = p;
    rec[i] = s;
    node[i++] = localNode[g.posNode[p]];
  });
  return { graph: buildGraph(n, maxNode, rec, node, positions, tierOf), parentRecord, localRecord };
}
