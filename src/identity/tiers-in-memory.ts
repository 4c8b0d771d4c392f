/**
 * The tiers of `IdentityPipeline.resolve` (priority order, per-profile limits) over integer
 * arrays in the process, for the `local` engine: one read of the edge table instead of a dozen
 * scans per tier. Only integers are involved (record and identifier numbers, tier indexes), so
 * no PII leaves the warehouse.
 *
 * It must give exactly the partition and the rejections of the SQL tiers (docs/identity.md,
 * "Pipeline", step 6), which tests/identity-tiers.test.ts checks on random graphs. The SQL's joins become array lookups by
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

/** The guard on rounds per tier, for the SQL tiers and these alike. */
export const LIMIT_ROUNDS = 10;

/**
 * One tier's edges, grouped by identifier: group g spans positions start[g]..start[g+1] and
 * belongs to identifier node[g]. Records and rejection marks are laid out by position, so the
 * passes over a tier read them in order rather than through the edge index.
 */
interface TierGroups {
  /** The input index of the edge at each position. */
  edges: Int32Array;
  recs: Int32Array;
  rejected: Uint8Array;
  start: Int32Array;
  node: Int32Array;
}

export function resolveInMemory(records: number, edges: InMemoryEdges, tiers: TierLimit[]): InMemoryResult {
  const E = edges.rec.length;
  let maxNode = records;
  for (let i = 0; i < E; i++) if (edges.node[i] > maxNode) maxNode = edges.node[i];
  const groups = groupByTierAndNode(edges, tiers.length, records, maxNode);

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
      const { recs, rejected, start, node } = groups[t];
      for (let g = 0; g + 1 < start.length; g++) {
        for (let i = start[g]; i < start[g + 1]; i++) {
          if (rejected[i] !== 0) continue;
          const a = find(recs[i]);
          const b = find(node[g]);
          // The smaller root wins, so every root is its component's smallest node: a record.
          if (a < b) parent[b] = a;
          else if (b < a) parent[a] = b;
        }
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
      const { recs, rejected, start } = groups[t];
      for (let g = 0; g + 1 < start.length; g++) {
        for (let i = start[g]; i < start[g + 1]; i++) {
          if (rejected[i] !== 0 || (recordOk && !recordOk[recs[i]])) continue;
          n[c[recs[i]]]++;
          break;
        }
      }
      counts.set(t, n);
    }
    return counts;
  };

  /** 1 for the components holding an accepted value of one of `counts`' types. */
  const anchoredIn = (counts: Map<number, Int32Array>): Uint8Array => {
    const anchored = new Uint8Array(records + 1);
    for (const n of counts.values()) for (let cc = 1; cc <= records; cc++) if (n[cc] > 0) anchored[cc] = 1;
    return anchored;
  };

  /** Rejects the accepted tier-k edges of the identifiers `cut` marks whose record's component is anchored. */
  const cutFromAnchored = (k: number, cut: Uint8Array, anchored: Uint8Array): number => {
    const { recs, rejected, start } = groups[k];
    const marks: number[] = [];
    for (let g = 0; g + 1 < start.length; g++) {
      if (!cut[g]) continue;
      for (let i = start[g]; i < start[g + 1]; i++) {
        if (rejected[i] === 0 && anchored[comp[recs[i]]]) marks.push(i);
      }
    }
    for (const i of marks) rejected[i] = 1;
    return marks.length;
  };

  for (let k = 0; k < tiers.length; k++) {
    const tier = tiers[k];
    const limitedBefore = limitedIn(0, k);
    const limitedSoFar = limitedIn(0, k + 1);
    const needsComponents = limitedSoFar.length > 0 || k === tiers.length - 1;
    const { recs, rejected, start } = groups[k];
    const groupCount = start.length - 1;

    if (limitedBefore.length) {
      // Pre-check: an identifier whose components together hold too many values of a
      // resolved, limited type is cut from the anchored ones.
      const counts = valueCounts(comp, limitedBefore);
      const perType = limitedBefore.map((t) => ({ n: counts.get(t)!, limit: tiers[t].limit! }));
      const anchored = anchoredIn(counts);
      const cut = new Uint8Array(groupCount);
      let any = false;
      const touched: number[] = [];
      for (let g = 0; g < groupCount; g++) {
        // Only anchored components add to the sums. Without a component over a limit, the sum
        // can only go over one when the identifier touches two anchored components or more.
        stampNo++;
        touched.length = 0;
        for (let i = start[g]; i < start[g + 1]; i++) {
          const cc = comp[recs[i]];
          if (!anchored[cc] || stamp[cc] === stampNo) continue;
          stamp[cc] = stampNo;
          touched.push(cc);
        }
        if (touched.length < (clean ? 2 : 1)) continue;
        for (const { n, limit } of perType) {
          let sum = 0;
          for (const cc of touched) sum += n[cc];
          if (sum > limit) {
            cut[g] = 1;
            any = true;
            break;
          }
        }
      }
      if (any) cutFromAnchored(k, cut, anchored);
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
            if (rejected[i] !== 0 || !inViolation[recs[i]]) continue;
            const cc = comp[recs[i]];
            if (stamp[cc] === stampNo) continue;
            stamp[cc] = stampNo;
            touchedCount[g]++;
            if (anchored[cc]) anchorCount[g]++;
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
  const rejected = new Uint8Array(E);
  for (const g of groups) for (let i = 0; i < g.edges.length; i++) if (g.rejected[i]) rejected[g.edges[i]] = 1;
  return { comp, rejected, componentRuns, unresolvedLimitViolations: unresolved };

  /**
   * The current tier's values beyond its limit in each component over it: the values with the
   * most accepted edges stay (ties: the smallest identifier number, which is the smallest
   * value, as identifiers are numbered in value order) and the rest are detached.
   */
  function rejectExcess(k: number, limit: number, next: Int32Array, over: Uint8Array): number {
    const { recs, rejected, start, node } = groups[k];
    const candidates: { comp: number; edges: number; group: number; node: number }[] = [];
    for (let g = 0; g + 1 < start.length; g++) {
      let count = 0;
      let cc = -1;
      for (let i = start[g]; i < start[g + 1]; i++) {
        if (rejected[i] !== 0) continue;
        count++;
        cc = next[recs[i]];
      }
      if (count && over[cc]) candidates.push({ comp: cc, edges: count, group: g, node: node[g] });
    }
    candidates.sort((a, b) => a.comp - b.comp || b.edges - a.edges || a.node - b.node);
    let marked = 0;
    for (let i = 0, rank = 0; i < candidates.length; i++) {
      rank = i > 0 && candidates[i - 1].comp === candidates[i].comp ? rank + 1 : 1;
      if (rank <= limit) continue;
      const g = candidates[i].group;
      for (let j = start[g]; j < start[g + 1]; j++) {
        if (rejected[j] === 0) {
          rejected[j] = 1;
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
  for (let t = 0; t < tierCount; t++) {
    out.push({ edges: new Int32Array(tierEdges[t]), recs: new Int32Array(tierEdges[t]), rejected: new Uint8Array(tierEdges[t]), start: new Int32Array(tierGroups[t] + 1), node: new Int32Array(tierGroups[t]) });
  }
  const at = new Int32Array(tierCount);
  const gAt = new Int32Array(tierCount);
  for (let x = 1; x <= span; x++) {
    if (perNode[x] === 0) continue;
    const t = edges.tier[byNode[offset[x]]];
    const g = out[t];
    g.node[gAt[t]] = x + records;
    g.start[gAt[t]++] = at[t];
    for (let i = offset[x]; i < offset[x] + perNode[x]; i++) {
      g.recs[at[t]] = edges.rec[byNode[i]];
      g.edges[at[t]++] = byNode[i];
    }
    g.start[gAt[t]] = at[t];
  }
  return out;
}
