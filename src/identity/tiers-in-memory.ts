/**
 * The tiers of `IdentityPipeline.resolve` (priority order, per-profile limits) over integer
 * arrays in the process, for the `local` engine: one read of the edge table instead of a dozen
 * scans per tier. Only integers are involved (record and identifier numbers, tier indexes), so
 * no PII leaves the warehouse.
 *
 * It must give exactly the partition and the rejections of the SQL tiers (docs/identity.md,
 * "Pipeline", step 6), which tests/identity-tiers.test.ts checks on random graphs. The SQL's
 * joins become array lookups by relying on two facts the SQL tiers also keep true:
 * - records are numbered 1..R and identifiers above R, so a component's smallest node, its
 *   label, is a record;
 * - every accepted edge of a tier already folded into `comp` lies inside one component of it,
 *   because rejections only ever touch the current tier's edges. So the distinct values of a
 *   type in a union of components are the sum of the per-component counts.
 *
 * A tier's first round covers the whole graph. Its later rounds only remove edges inside the
 * components that were over a limit, so every other component stays as it is: those rounds run
 * on a restriction of the graph to the violating components (local-graph.ts, `restrictTo`),
 * which is what the SQL tiers' `suspects` filter does, and their outcome is copied back.
 */
import { ACCEPTED, graphOfEdges, LIMIT_REJECTED, restrictTo, tierNodes, type InMemoryEdges, type LocalGraph } from './local-graph.js';
import { markShared } from './degree-caps.js';

export type { InMemoryEdges } from './local-graph.js';

export interface TierLimit {
  /** At most this many values of the tier's type per profile; undefined = no limit. */
  limit?: number;
}

export interface InMemoryResult {
  /** comp[r] = the label (smallest record) of record r's component; index 0 is unused. */
  comp: Int32Array;
  /** 1 for each edge a limit rejected. */
  rejected: Uint8Array;
  componentRuns: number;
  unresolvedLimitViolations: number;
}

export interface LocalResult extends InMemoryResult {
  /** 1 at each identifier the degree caps quarantined as shared. */
  shared: Uint8Array;
  /** Edges of identifiers that are not shared. */
  edges: number;
}

/** The guard on rounds per tier, for the SQL tiers and these alike. */
export const LIMIT_ROUNDS = 10;

/** The tiers on edges the degree caps have already filtered. */
export function resolveInMemory(records: number, edges: InMemoryEdges, tiers: TierLimit[]): InMemoryResult {
  return resolveLocal(records, edges, tiers);
}

/**
 * The local engine's whole in-process part: the degree caps (when `caps` is given: the cap per
 * tier) and then the tiers, on one graph built once from the edges.
 */
export function resolveLocal(records: number, edges: InMemoryEdges, tiers: TierLimit[], caps?: number[]): LocalResult {
  const g = graphOfEdges(records, edges);
  const shared = caps ? markShared(g, caps) : new Uint8Array(g.maxNode + 1);
  let sharedEdges = 0;
  for (let p = 0; p < g.mark.length; p++) if (g.mark[p] !== ACCEPTED) sharedEdges++;
  const tiered = new Tiers(tiers);
  const comp = tiered.resolve(g);
  const rejected = new Uint8Array(edges.rec.length);
  for (let p = 0; p < g.mark.length; p++) if (g.mark[p] === LIMIT_REJECTED) rejected[g.origin[p]] = 1;
  return { comp, rejected, componentRuns: tiered.componentRuns, unresolvedLimitViolations: tiered.unresolved, shared, edges: edges.rec.length - sharedEdges };
}

/** A graph with its current components of the tiers before the one being formed. */
interface State {
  g: LocalGraph;
  nodes: Int32Array[];
  /** comp[r] = the label of record r's component over the tiers folded so far. */
  comp: Int32Array;
}

interface Violations {
  /** (component, type) pairs over a limit. */
  count: number;
  /** 1 for components over the limit of any type. */
  violating: Uint8Array;
  /** 1 for components over the current tier's own limit. */
  overOwnLimit: Uint8Array;
}

class Tiers {
  componentRuns = 0;
  unresolved = 0;
  /** No component of the folded tiers is over a limit (the last tier ended without violations). */
  private clean = true;
  /** How many tiers the components hold; later tiers' edges are added to their contraction. */
  private folded = 0;
  private parent = new Int32Array(0);
  private stamp = new Int32Array(0);
  private stampNo = 0;

  constructor(private readonly tiers: TierLimit[]) {}

  private limitedIn(from: number, to: number): number[] {
    const out: number[] = [];
    for (let t = from; t < to; t++) if (this.tiers[t].limit !== undefined) out.push(t);
    return out;
  }

  resolve(g: LocalGraph): Int32Array {
    const comp = new Int32Array(g.records + 1);
    for (let r = 0; r <= g.records; r++) comp[r] = r;
    const s: State = { g, nodes: tierNodes(g, this.tiers.length), comp };
    for (let k = 0; k < this.tiers.length; k++) {
      const limitedSoFar = this.limitedIn(0, k + 1);
      if (this.limitedIn(0, k).length) this.preCheck(s, k);
      // Without any limit so far, components are only needed once, after the last tier.
      if (limitedSoFar.length === 0 && k < this.tiers.length - 1) continue;
      const next = this.components(s, k);
      if (limitedSoFar.length) this.settle(s, next, k, 0);
      s.comp = next;
      this.folded = k + 1;
    }
    return s.comp;
  }

  /**
   * Pre-check: an identifier of tier k whose records' components together hold too many
   * values of a resolved, limited type is cut from the anchored ones.
   */
  private preCheck(s: State, k: number): void {
    const { g, comp } = s;
    const limitedBefore = this.limitedIn(0, k);
    const counts = this.valueCounts(s, comp, limitedBefore);
    const perType = limitedBefore.map((t) => ({ n: counts.get(t)!, limit: this.tiers[t].limit! }));
    const anchored = anchoredIn(counts, g.records);
    const nodes = s.nodes[k];
    const cut = new Uint8Array(nodes.length);
    let any = false;
    const touched: number[] = [];
    const stamp = this.stamps(g.records);
    // Each record's component when it is anchored, else 0: one lookup per edge below.
    const anchorOf = new Int32Array(g.records + 1);
    for (let r = 1; r <= g.records; r++) if (anchored[comp[r]]) anchorOf[r] = comp[r];
    const { nodeStart, posRec } = g;
    for (let i = 0; i < nodes.length; i++) {
      const x = nodes[i];
      // Only anchored components add to the sums. Without a component over a limit, the sum
      // can only go over one when the identifier touches two anchored components or more, which
      // a first pass tells without counting. (No edge of tier k is rejected yet.)
      let first = 0;
      let enough = false;
      for (let p = nodeStart[x]; p < nodeStart[x + 1] && !enough; p++) {
        const cc = anchorOf[posRec[p]];
        if (cc === 0) continue;
        if (!this.clean || (first !== 0 && cc !== first)) enough = true;
        first = cc;
      }
      if (!enough) continue;
      const no = ++this.stampNo;
      touched.length = 0;
      for (let p = nodeStart[x]; p < nodeStart[x + 1]; p++) {
        const cc = anchorOf[posRec[p]];
        if (cc === 0 || stamp[cc] === no) continue;
        stamp[cc] = no;
        touched.push(cc);
      }
      for (const { n, limit } of perType) {
        let sum = 0;
        for (const cc of touched) sum += n[cc];
        if (sum > limit) {
          cut[i] = 1;
          any = true;
          break;
        }
      }
    }
    if (any) cutFromAnchored(s, k, cut, anchored);
  }

  /**
   * Rounds of tier k after the one that formed `next`: while a component is over a limit, cut
   * edges in the violating components and form them again. `next` is updated in place, and the
   * cuts are marked in `s.g`.
   */
  private settle(s: State, next: Int32Array, k: number, round: number): void {
    const v = this.violations(s, next, k);
    if (v.count === 0 || round >= LIMIT_ROUNDS) {
      this.unresolved += v.count;
      this.clean = v.count === 0;
      return;
    }
    // Only the violating components change from here on: the rest of the tier works on them alone.
    const { g } = s;
    const sub = restrictTo(g, (r) => v.violating[next[r]] === 1, k);
    const local = (labels: Int32Array) => {
      const out = new Int32Array(sub.graph.records + 1);
      for (let r = 1; r <= sub.graph.records; r++) out[r] = sub.localRecord[labels[sub.parentRecord[r]]];
      return out;
    };
    const inner: State = { g: sub.graph, nodes: tierNodes(sub.graph, this.tiers.length), comp: local(s.comp) };
    const innerNext = local(next);
    const cut = this.cutViolations(inner, innerNext, k, this.violations(inner, innerNext, k));
    if (cut === 0) {
      this.unresolved += v.count;
      this.clean = false;
      return;
    }
    const formed = this.components(inner, k);
    this.settle(inner, formed, k, round + 1);
    for (let p = 0; p < sub.graph.mark.length; p++) if (sub.graph.mark[p] === LIMIT_REJECTED) g.mark[sub.graph.origin[p]] = LIMIT_REJECTED;
    for (let r = 1; r <= sub.graph.records; r++) next[sub.parentRecord[r]] = sub.parentRecord[formed[r]];
  }

  /**
   * The cuts of one round, on a graph that holds only violating components: first the tier's
   * identifiers that touch two anchored components themselves, then (for violations made by a
   * chain of them) every bridge into an anchored component, else the excess values of the
   * tier's own type. Returns how many edges were cut.
   */
  private cutViolations(s: State, next: Int32Array, k: number, v: Violations): number {
    const { g, comp } = s;
    const nodes = s.nodes[k];
    const limitedBefore = this.limitedIn(0, k);
    let cutNow = 0;
    if (limitedBefore.length) {
      const anchored = anchoredIn(this.valueCounts(s, comp, limitedBefore), g.records);
      const touchedCount = new Int32Array(nodes.length);
      const anchorCount = new Int32Array(nodes.length);
      const stamp = this.stamps(g.records);
      for (let i = 0; i < nodes.length; i++) {
        const no = ++this.stampNo;
        for (let p = g.nodeStart[nodes[i]]; p < g.nodeStart[nodes[i] + 1]; p++) {
          if (g.mark[p] !== ACCEPTED) continue;
          const cc = comp[g.posRec[p]];
          if (stamp[cc] === no) continue;
          stamp[cc] = no;
          touchedCount[i]++;
          if (anchored[cc]) anchorCount[i]++;
        }
      }
      for (const minAnchored of [2, 1]) {
        const cut = new Uint8Array(nodes.length);
        for (let i = 0; i < nodes.length; i++) cut[i] = touchedCount[i] > 1 && anchorCount[i] >= minAnchored ? 1 : 0;
        cutNow += cutFromAnchored(s, k, cut, anchored);
        if (cutNow) break;
      }
    }
    const limit = this.tiers[k].limit;
    if (cutNow === 0 && limit !== undefined) cutNow = rejectExcess(s, k, limit, next, v.overOwnLimit);
    return cutNow;
  }

  private violations(s: State, next: Int32Array, k: number): Violations {
    const records = s.g.records;
    const limitedSoFar = this.limitedIn(0, k + 1);
    const counts = this.valueCounts(s, next, limitedSoFar);
    const violating = new Uint8Array(records + 1);
    const overOwnLimit = new Uint8Array(records + 1);
    let count = 0;
    for (const t of limitedSoFar) {
      const n = counts.get(t)!;
      const limit = this.tiers[t].limit!;
      for (let cc = 1; cc <= records; cc++) {
        if (n[cc] > limit) {
          count++;
          violating[cc] = 1;
          if (t === k) overOwnLimit[cc] = 1;
        }
      }
    }
    return { count, violating, overOwnLimit };
  }

  /** Components of `s.comp` plus the accepted edges of tiers folded..k: labels per record. */
  private components(s: State, k: number): Int32Array {
    this.componentRuns++;
    const { g, comp } = s;
    if (this.parent.length < g.maxNode + 1) this.parent = new Int32Array(g.maxNode + 1);
    const parent = this.parent;
    parent.set(comp);
    for (let t = this.folded; t <= k; t++) for (const x of s.nodes[t]) parent[x] = x;
    const find = (x: number): number => {
      while (parent[x] !== x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
      }
      return x;
    };
    const { nodeStart, posRec, mark } = g;
    for (let t = this.folded; t <= k; t++) {
      for (const x of s.nodes[t]) {
        for (let p = nodeStart[x]; p < nodeStart[x + 1]; p++) {
          if (mark[p] !== ACCEPTED) continue;
          const a = find(posRec[p]);
          const b = find(x);
          // The smaller root wins, so every root is its component's smallest node: a record.
          if (a < b) parent[b] = a;
          else if (b < a) parent[a] = b;
        }
      }
    }
    const next = new Int32Array(g.records + 1);
    for (let r = 0; r <= g.records; r++) next[r] = find(r);
    return next;
  }

  /**
   * Per type of `types`: how many distinct accepted identifiers each component of `c` holds.
   * An identifier's accepted edges all lie in one component (see the top of this file), so its
   * first accepted edge tells which.
   */
  private valueCounts(s: State, c: Int32Array, types: number[]): Map<number, Int32Array> {
    const { nodeStart, posRec, mark } = s.g;
    const counts = new Map<number, Int32Array>();
    for (const t of types) {
      const n = new Int32Array(s.g.records + 1);
      for (const x of s.nodes[t]) {
        for (let p = nodeStart[x]; p < nodeStart[x + 1]; p++) {
          if (mark[p] !== ACCEPTED) continue;
          n[c[posRec[p]]]++;
          break;
        }
      }
      counts.set(t, n);
    }
    return counts;
  }

  /** Per-record stamps, to count each component once per identifier without a Set. */
  private stamps(records: number): Int32Array {
    if (this.stamp.length < records + 1) {
      this.stamp = new Int32Array(records + 1);
      this.stampNo = 0;
    }
    return this.stamp;
  }
}

/** 1 for the components holding an accepted value of one of `counts`' types. */
function anchoredIn(counts: Map<number, Int32Array>, records: number): Uint8Array {
  const anchored = new Uint8Array(records + 1);
  for (const n of counts.values()) for (let cc = 1; cc <= records; cc++) if (n[cc] > 0) anchored[cc] = 1;
  return anchored;
}

/** Rejects the accepted tier-k edges of the identifiers `cut` marks whose record's component is anchored. */
function cutFromAnchored(s: State, k: number, cut: Uint8Array, anchored: Uint8Array): number {
  const { nodeStart, posRec, mark } = s.g;
  const nodes = s.nodes[k];
  const marks: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    if (!cut[i]) continue;
    for (let p = nodeStart[nodes[i]]; p < nodeStart[nodes[i] + 1]; p++) {
      if (mark[p] === ACCEPTED && anchored[s.comp[posRec[p]]]) marks.push(p);
    }
  }
  for (const p of marks) mark[p] = LIMIT_REJECTED;
  return marks.length;
}

/**
 * The current tier's values beyond its limit in each component over it: the values with the
 * most accepted edges stay (ties: the smallest identifier number, which is the smallest
 * value, as identifiers are numbered in value order) and the rest are detached.
 */
function rejectExcess(s: State, k: number, limit: number, next: Int32Array, over: Uint8Array): number {
  const { nodeStart, posRec, mark } = s.g;
  const candidates: { comp: number; edges: number; node: number }[] = [];
  for (const x of s.nodes[k]) {
    let count = 0;
    let cc = -1;
    for (let p = nodeStart[x]; p < nodeStart[x + 1]; p++) {
      if (mark[p] !== ACCEPTED) continue;
      count++;
      cc = next[posRec[p]];
    }
    if (count && over[cc]) candidates.push({ comp: cc, edges: count, node: x });
  }
  candidates.sort((a, b) => a.comp - b.comp || b.edges - a.edges || a.node - b.node);
  let marked = 0;
  for (let i = 0, rank = 0; i < candidates.length; i++) {
    rank = i > 0 && candidates[i - 1].comp === candidates[i].comp ? rank + 1 : 1;
    if (rank <= limit) continue;
    const x = candidates[i].node;
    for (let p = nodeStart[x]; p < nodeStart[x + 1]; p++) {
      if (mark[p] === ACCEPTED) {
        mark[p] = LIMIT_REJECTED;
        marked++;
      }
    }
  }
  return marked;
}
