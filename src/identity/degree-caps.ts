/**
 * Degree caps (docs/identity.md, "Pipeline", step 5) over integer arrays in the process, for the
 * `local` engine: an identifier that co-occurs, in the same records, with more than its type's
 * `max_degree` distinct identifiers of any one other type is shared. The `sql` engine runs the
 * same rule as SQL (`degreeCapSql`); tests/identity-degree-caps.test.ts holds the two equal on
 * random graphs. Only integers are involved, so no PII leaves the warehouse.
 */
import type { Dialect } from '../warehouse/types.js';
import { graphOfEdges, SHARED, type InMemoryEdges, type LocalGraph } from './local-graph.js';
import { DEFAULT_MAX_DEGREE, type IdTypeSpec } from './spec.js';

/**
 * The identifiers the caps reject: 1 at each shared node number. `caps[t]` is the cap of the
 * identifiers of tier (type) `t`; node numbers lie above `records`.
 */
export function sharedInMemory(records: number, edges: InMemoryEdges, caps: number[]): Uint8Array {
  return sharedNodes(graphOfEdges(records, edges), caps);
}

/** The shared identifiers of `g` (1 per node number); their edges are marked SHARED. */
export function markShared(g: LocalGraph, caps: number[]): Uint8Array {
  const shared = sharedNodes(g, caps);
  for (let x = g.records + 1; x <= g.maxNode; x++) if (shared[x]) g.mark.fill(SHARED, g.nodeStart[x], g.nodeStart[x + 1]);
  return shared;
}

function sharedNodes(g: LocalGraph, caps: number[]): Uint8Array {
  const { records, maxNode, nodeStart, posRec, posNode, recStart, recPos, tierOf } = g;
  const shared = new Uint8Array(maxNode + 1);
  /** stamp[b] = the identifier whose neighbourhood last counted b, so each b counts once. */
  const stamp = new Int32Array(maxNode + 1);
  const perType = new Int32Array(caps.length);
  const touchedTypes: number[] = [];
  for (let a = records + 1; a <= maxNode; a++) {
    if (nodeStart[a] === nodeStart[a + 1]) continue;
    const cap = caps[tierOf[a]];
    // The other identifiers on a's records bound the count of any one type: most identifiers
    // sit on a few records with few identifiers, and need no closer look.
    let bound = 0;
    for (let i = nodeStart[a]; i < nodeStart[a + 1] && bound <= cap; i++) {
      const r = posRec[i];
      bound += recStart[r + 1] - recStart[r] - 1;
    }
    if (bound <= cap) continue;
    for (const t of touchedTypes) perType[t] = 0;
    touchedTypes.length = 0;
    scan: for (let i = nodeStart[a]; i < nodeStart[a + 1]; i++) {
      const r = posRec[i];
      for (let j = recStart[r]; j < recStart[r + 1]; j++) {
        const b = posNode[recPos[j]];
        const t = tierOf[b];
        if (t === tierOf[a] || stamp[b] === a) continue;
        stamp[b] = a;
        if (perType[t]++ === 0) touchedTypes.push(t);
        if (perType[t] > cap) {
          shared[a] = 1;
          break scan;
        }
      }
    }
  }
  return shared;
}

/** The same rule in SQL over a relation of (rec_id, id_type, id_node) rows: the shared `id_node`s. */
export function degreeCapSql(d: Dialect, enc: string, idTypes: Pick<IdTypeSpec, 'name' | 'maxDegree'>[]): string {
  const capCase = `case a.id_type ${idTypes.map((t) => `when ${d.quoteString(t.name)} then ${capOf(t)}`).join(' ')} end`;
  return `with acc as (select distinct rec_id, id_type, id_node from ${enc})\n` +
    `select distinct a.id_node from acc a join acc b on a.rec_id = b.rec_id and a.id_type <> b.id_type\n` +
    `group by a.id_node, a.id_type, b.id_type having count(distinct b.id_node) > ${capCase}`;
}

/** A type's cap: its own `max_degree`, else the default. */
export function capOf(t: Pick<IdTypeSpec, 'maxDegree'>): number {
  return t.maxDegree ?? DEFAULT_MAX_DEGREE;
}
