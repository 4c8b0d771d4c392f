/**
 * The tiers of `IdentityPipeline.resolve` (priority order, per-profile limits) over integer
 * arrays in the process, for the `local` engine: one read of the edge table instead of a dozen
 * scans per tier. Only integers are involved (record and identifier numbers, tier indexes), so
 * no PII leaves the warehouse.
 *
 * It must give exactly the partition and the rejections of the SQL tiers (docs/identity.md,
 * "Limits"), which the engine-equality tests check. The SQL's joins become array lookups by
 * relying on two facts the SQL tiers also keep true:
 * - records are numbered 1..R and identifiers above R, so a component's smallest node, its
 *   label, is a record;
 * - every accepted edge of a tier already folded into `comp` lies inside one component of it,
 *   because rejections only ever touch the current tier's edges. So the distinct values of a
 *   type in a union of components are the sum of the per-component counts.
 */

export interface TierLimit {
  /** At most this many values of the tier's type per profile; undefined = no limit. */
  limit?: number;
}

export interface InMemoryEdges {
  /** Record number (1..records) of each edge. */
  rec: Int32Array;
  /** Identifier number (above records) of each edge. */
  node: Int32Array;
  /** Tier index (position in priority order) of each edge's identifier type. */
  tier: Uint8Array;
}

export interface InMemoryResult {
  /** comp[r] = the label (smallest record) of record r's component; index 0 is unused. */
  comp: Int32Array;
  /** 1 for each edge a limit rejected. */
  rejected: Uint8Array;
  componentRuns: number;
  unresolvedLimitViolations: number;
}

/** The SQL tiers' guard on rounds per tier. */
export const LIMIT_ROUNDS = 10;

/** Edge indexes of one tier, grouped by identifier: group g spans start[g]..start[g+1]. */
interface TierGroups {
  edges: Int32Array;
  start: Int32Array;
}

export function resolveInMemory(records: number, edges: InMemoryEdges, tiers: TierLimit[]): InMemoryResult {
  const E = edges.rec.length;
  let maxNode = records;
  for (let i = 0; i < E; i++) if (edges.node[i] > maxNode) maxNode = edges.node[i];
  const groups = groupByTierAndNode(edges, tiers.length, records, maxNode);
  const rejected = new Uint8Array(E);
  const { rec, node } = edges;
  const isAccepted = (e: number) => rejected[e] === 0;

  let comp: Int32Array = new Int32Array(records + 1);
  for (let r = 0; r <= records; r++) comp[r] = r;
  const parent = new Int32Array(maxNode + 1);
  /** Per-record stamps, to count each component once per identifier without a Set. */
  const stamp = new Int32Array(records + 1);
  let stampNo = 0;

  let componentRuns = 0;
  let unresolved = 0;
  let folded = 0;
  let clean = true;
  const limitedIn = (from: number, to: number) => range(from, to).filter((t) => tiers[t].limit !== undefined);

  /** Components of `comp` plus the accepted edges of tiers folded..k: labels per record. */
  const components = (k: number): Int32Array => {
    componentRuns++;
    for (let r = 0; r <= records; r++) parent[r] = comp[r];
    for (let x = records + 1; x <= maxNode; x++) parent[x] = x;
    const find = (x: number): number => {
      while (parent[x] !== x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
      }
      return x;
    };
    for (let t = folded; t <= k; t++) {
      const list = groups[t].edges;
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (!isAccepted(e)) continue;
        const a = find(rec[e]);
        const b = find(node[e]);
        // The smaller root wins, so every root is its component's smallest node: a record.
        if (a < b) parent[b] = a;
        else if (b < a) parent[a] = b;
      }
    }
    const next = new Int32Array(records + 1);
    for (let r = 0; r <= records; r++) next[r] = find(r);
    return next;
  };

  /**
   * Per type of `types`: how many distinct accepted identifiers each component of `c` holds,
   * counting only edges whose record passes `recordOk`. An identifier's accepted edges all lie
   * in one component (see the top of this file), so its first accepted edge tells which.
   */
  const valueCounts = (c: Int32Array, types: number[], recordOk?: Uint8Array): Map<number, Int32Array> => {
    const counts = new Map<number, Int32Array>();
    for (const t of types) {
      const n = new Int32Array(records + 1);
      const { edges: list, start } = groups[t];
      for (let g = 0; g + 1 < start.length; g++) {
        for (let i = start[g]; i < start[g + 1]; i++) {
          const e = list[i];
          if (rejected[e] !== 0 || (recordOk && !recordOk[rec[e]])) continue;
          n[c[rec[e]]]++;
          break;
        }
      }
      counts.set(t, n);
    }
    return counts;
  };

  /** Components of `c` holding an accepted value of one of `counts`' types. */
  const anchoredIn = (counts: Map<number, Int32Array>) => (cc: number) => {
    for (const n of counts.values()) if (n[cc] > 0) return true;
    return false;
  };

  /** Rejects the accepted tier-k edges of the identifiers `cut` marks whose record's component is anchored. */
  const cutFromAnchored = (k: number, cut: Uint8Array, anchored: (cc: number) => boolean): number => {
    const { edges: list, start } = groups[k];
    const marks: number[] = [];
    for (let g = 0; g + 1 < start.length; g++) {
      if (!cut[g]) continue;
      for (let i = start[g]; i < start[g + 1]; i++) {
        const e = list[i];
        if (isAccepted(e) && anchored(comp[rec[e]])) marks.push(e);
      }
    }
    for (const e of marks) rejected[e] = 1;
    return marks.length;
  };

  for (let k = 0; k < tiers.length; k++) {
    const tier = tiers[k];
    const limitedBefore = limitedIn(0, k);
    const limitedSoFar = limitedIn(0, k + 1);
    const needsComponents = limitedSoFar.length > 0 || k === tiers.length - 1;
    const { edges: list, start } = groups[k];
    const groupCount = start.length - 1;

    if (limitedBefore.length) {
      // Pre-check: an identifier whose components together hold too many values of a
      // resolved, limited type is cut from the anchored ones.
      const counts = valueCounts(comp, limitedBefore);
      const cut = new Uint8Array(groupCount);
      let any = false;
      const touched: number[] = [];
      for (let g = 0; g < groupCount; g++) {
        stampNo++;
        touched.length = 0;
        for (let i = start[g]; i < start[g + 1]; i++) {
          const cc = comp[rec[list[i]]];
          if (stamp[cc] === stampNo) continue;
          stamp[cc] = stampNo;
          touched.push(cc);
        }
        if (clean && touched.length <= 1) continue;
        for (const t of limitedBefore) {
          const n = counts.get(t)!;
          let sum = 0;
          for (const cc of touched) sum += n[cc];
          if (sum > tiers[t].limit!) {
            cut[g] = 1;
            any = true;
            break;
          }
        }
      }
      if (any) cutFromAnchored(k, cut, anchoredIn(counts));
    }
    if (!needsComponents) continue;

    let suspects: Uint8Array | undefined;
    for (let round = 0; ; round++) {
      const next = components(k);
      if (limitedSoFar.length === 0) {
        comp = next;
        folded = k + 1;
        break;
      }
      const counts = valueCounts(next, limitedSoFar, suspects);
      /** Components over the limit of any type, and those over the current tier's own limit. */
      const violatingComp = new Uint8Array(records + 1);
      const overOwnLimit = new Uint8Array(records + 1);
      let violating = 0;
      for (const t of limitedSoFar) {
        const n = counts.get(t)!;
        const limit = tiers[t].limit!;
        for (let cc = 1; cc <= records; cc++) {
          if (n[cc] > limit) {
            violating++;
            violatingComp[cc] = 1;
            if (t === k) overOwnLimit[cc] = 1;
          }
        }
      }
      if (violating === 0 || round >= LIMIT_ROUNDS) {
        unresolved += violating;
        clean = violating === 0;
        comp = next;
        folded = k + 1;
        break;
      }
      const inViolation = new Uint8Array(records + 1);
      for (let r = 1; r <= records; r++) inViolation[r] = violatingComp[next[r]];
      suspects = inViolation;
      let cutNow = 0;

      if (limitedBefore.length) {
        // Identifiers that joined earlier components into a violating one: first those that
        // touch two anchored components themselves, then any bridge into an anchored one.
        const anchored = anchoredIn(valueCounts(comp, limitedBefore, inViolation));
        const touchedCount = new Int32Array(groupCount);
        const anchorCount = new Int32Array(groupCount);
        for (let g = 0; g < groupCount; g++) {
          stampNo++;
          for (let i = start[g]; i < start[g + 1]; i++) {
            const e = list[i];
            if (!isAccepted(e) || !inViolation[rec[e]]) continue;
            const cc = comp[rec[e]];
            if (stamp[cc] === stampNo) continue;
            stamp[cc] = stampNo;
            touchedCount[g]++;
            if (anchored(cc)) anchorCount[g]++;
          }
        }
        for (const minAnchored of [2, 1]) {
          const cut = new Uint8Array(groupCount);
          for (let g = 0; g < groupCount; g++) cut[g] = touchedCount[g] > 1 && anchorCount[g] >= minAnchored ? 1 : 0;
          cutNow += cutFromAnchored(k, cut, anchored);
          if (cutNow) break;
        }
      }
      if (cutNow === 0 && tier.limit !== undefined) {
        cutNow = rejectExcess(k, tier.limit, next, overOwnLimit);
      }
      if (cutNow === 0) {
        unresolved += violating;
        clean = false;
        comp = next;
        folded = k + 1;
        break;
      }
    }
  }
  return { comp, rejected, componentRuns, unresolvedLimitViolations: unresolved };

  /**
   * The current tier's values beyond its limit in each component over it: the values with the
   * most accepted edges stay (ties: the smallest identifier number, which is the smallest
   * value, as identifiers are numbered in value order) and the rest are detached.
   */
  function rejectExcess(k: number, limit: number, next: Int32Array, over: Uint8Array): number {
    const { edges: list, start } = groups[k];
    const candidates: { comp: number; edges: number; group: number; node: number }[] = [];
    for (let g = 0; g + 1 < start.length; g++) {
      let count = 0;
      let cc = -1;
      for (let i = start[g]; i < start[g + 1]; i++) {
        const e = list[i];
        if (!isAccepted(e)) continue;
        count++;
        cc = next[rec[e]];
      }
      if (count && over[cc]) candidates.push({ comp: cc, edges: count, group: g, node: node[list[start[g]]] });
    }
    candidates.sort((a, b) => a.comp - b.comp || b.edges - a.edges || a.node - b.node);
    let marked = 0;
    for (let i = 0, rank = 0; i < candidates.length; i++) {
      rank = i > 0 && candidates[i - 1].comp === candidates[i].comp ? rank + 1 : 1;
      if (rank <= limit) continue;
      const g = candidates[i].group;
      for (let j = start[g]; j < start[g + 1]; j++) {
        const e = list[j];
        if (isAccepted(e)) {
          rejected[e] = 1;
          marked++;
        }
      }
    }
    return marked;
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** Counting sort of the edges by tier, then by identifier number, with each identifier's span. */
function groupByTierAndNode(edges: InMemoryEdges, tierCount: number, records: number, maxNode: number): TierGroups[] {
  const E = edges.rec.length;
  const span = maxNode - records;
  const perNode = new Int32Array(span + 2);
  for (let i = 0; i < E; i++) perNode[edges.node[i] - records]++;
  const offset = new Int32Array(span + 2);
  for (let x = 1; x <= span + 1; x++) offset[x] = offset[x - 1] + perNode[x - 1];
  const byNode = new Int32Array(E);
  const fill = offset.slice();
  for (let i = 0; i < E; i++) byNode[fill[edges.node[i] - records]++] = i;

  const tierEdges = new Int32Array(tierCount + 1);
  const tierGroups = new Int32Array(tierCount + 1);
  for (let x = 1; x <= span; x++) {
    if (perNode[x] === 0) continue;
    const t = edges.tier[byNode[offset[x]]];
    tierEdges[t] += perNode[x];
    tierGroups[t]++;
  }
  const out: TierGroups[] = [];
  for (let t = 0; t < tierCount; t++) out.push({ edges: new Int32Array(tierEdges[t]), start: new Int32Array(tierGroups[t] + 1) });
  const at = new Int32Array(tierCount);
  const gAt = new Int32Array(tierCount);
  for (let x = 1; x <= span; x++) {
    if (perNode[x] === 0) continue;
    const t = edges.tier[byNode[offset[x]]];
    const g = out[t];
    g.start[gAt[t]++] = at[t];
    for (let i = offset[x]; i < offset[x] + perNode[x]; i++) g.edges[at[t]++] = byNode[i];
    g.start[gAt[t]] = at[t];
  }
  return out;
}
