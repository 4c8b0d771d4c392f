/**
 * Degree caps (docs/identity.md, "Pipeline", step 5) over integer arrays in the process, for the
 * `local` engine: an identifier that co-occurs, in the same records, with more than its type's
 * `max_degree` distinct identifiers of any one other type is shared. The `sql` engine runs the
 * same rule as SQL (`degreeCapSql`); tests/identity-degree-caps.test.ts holds the two equal on
 * random graphs. Only integers are involved, so no PII leaves the warehouse.
 */
import type { Dialect } from '../warehouse/types.js';
import { DEFAULT_MAX_DEGREE, type IdTypeSpec } from './spec.js';
import type { InMemoryEdges } from './tiers-in-memory.js';

/**
 * The identifiers the caps reject: 1 at each shared node number. `caps[t]` is the cap of the
 * identifiers of tier (type) `t`; node numbers lie above `records`.
 */
export function sharedInMemory(records: number, edges: InMemoryEdges, caps: number[]): Uint8Array {
  const E = edges.rec.length;
  let maxNode = records;
  for (let i = 0; i < E; i++) if (edges.node[i] > maxNode) maxNode = edges.node[i];
  // Each record's identifiers, and each identifier's records (compressed rows).
  const byRecord = compressedRows(edges.rec, records, edges.node);
  const byNode = compressedRows(edges.node, maxNode, edges.rec);
  const tierOf = new Uint8Array(maxNode + 1);
  for (let i = 0; i < E; i++) tierOf[edges.node[i]] = edges.tier[i];

  const shared = new Uint8Array(maxNode + 1);
  /** stamp[b] = the identifier whose neighbourhood last counted b, so each b counts once. */
  const stamp = new Int32Array(maxNode + 1);
  const perType = new Int32Array(caps.length);
  const touchedTypes: number[] = [];
  for (let a = records + 1; a <= maxNode; a++) {
    if (byNode.start[a] === byNode.start[a + 1]) continue;
    const cap = caps[tierOf[a]];
    // The other identifiers on a's records bound the count of any one type: most identifiers
    // sit on a few records with few identifiers, and need no closer look.
    let bound = 0;
    for (let i = byNode.start[a]; i < byNode.start[a + 1] && bound <= cap; i++) {
      const r = byNode.items[i];
      bound += byRecord.start[r + 1] - byRecord.start[r] - 1;
    }
    if (bound <= cap) continue;
    for (const t of touchedTypes) perType[t] = 0;
    touchedTypes.length = 0;
    scan: for (let i = byNode.start[a]; i < byNode.start[a + 1]; i++) {
      const r = byNode.items[i];
      for (let j = byRecord.start[r]; j < byRecord.start[r + 1]; j++) {
        const b = byRecord.items[j];
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

/** Items grouped by key (0..maxKey): the items of key k are items[start[k]..start[k+1]). */
function compressedRows(keys: Int32Array, maxKey: number, values: Int32Array): { start: Int32Array; items: Int32Array } {
  const start = new Int32Array(maxKey + 2);
  for (let i = 0; i < keys.length; i++) start[keys[i] + 1]++;
  for (let k = 1; k <= maxKey + 1; k++) start[k] += start[k - 1];
  const fill = start.slice(0, maxKey + 1);
  const items = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) items[fill[keys[i]]++] = values[i];
  return { start, items };
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
