/**
 * Commits what the destination confirmed: the snapshot, the rejections and the changelog move
 * together in one transaction. The outcomes of several batches go into one
 * transaction (a group), because in DuckDB the cost of a commit barely depends on its size.
 *
 * Confirmed rows are named by their `seq` in the plan table, so the snapshot's new rows are
 * copied from the plan inside the warehouse and nothing but numbers comes back from the
 * process. The plan is streamed in table order, which makes a batch's seqs one contiguous
 * range where the warehouse keeps insertion order (DuckDB, PostgreSQL), so a group of batches
 * is a few `seq BETWEEN` ranges; elsewhere they are loaded into the confirm table instead.
 *
 * Rows in flight: the plan table is written before anything is sent and dropped only when the
 * run ends, so after a crash it still names every row that may have been sent. The next run
 * first moves its rows into the pending table (recoverPlan), where the plan counts them as
 * delivered with an unknown hash: sent again if still in the source, removed if not, whether
 * or not the key has a snapshot row (the crashed run may have changed or removed it at the
 * destination). Rows it had confirmed are only sent once more; every operation is idempotent.
 */
import type { ColumnSpec, Warehouse } from '../warehouse/types.js';
import type { SyncTables } from './state.js';

export type Change = 'add' | 'change' | 'remove';

const CONFIRM_COLUMNS: ColumnSpec[] = [
  { name: 'seq', type: 'bigint' },
  { name: 'key', type: 'text' },
  { name: 'op', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'reason', type: 'text' },
];

/** More ranges than this go through the confirm table rather than into the SQL text. */
const MAX_RANGES = 64;

/** Outcomes not committed yet. */
export class ConfirmGroup {
  readonly okSeqs: number[] = [];
  readonly rejected: { seq: number; key: string; op: string; reason: string }[] = [];
  readonly ok = { add: 0, change: 0, remove: 0 };

  confirm(seq: number, change: Change): void {
    this.okSeqs.push(seq);
    this.ok[change]++;
  }

  reject(seq: number, key: string, op: string, reason: string): void {
    this.rejected.push({ seq, key, op, reason });
  }

  get size(): number {
    return this.okSeqs.length + this.rejected.length;
  }
}

export class Committer {
  private readonly d;
  private readonly rel;

  constructor(
    private readonly wh: Warehouse,
    t: SyncTables,
    private readonly sync: string,
    private readonly runId: string,
    /** A full resync plans rows that are in the snapshot as adds. */
    private readonly fullResync: boolean,
    /** Whether this sync has rejections a confirmed row must clear. */
    private openRejections: boolean,
  ) {
    this.d = wh.dialect;
    this.rel = {
      plan: this.d.relation(t.plan),
      confirm: this.d.relation(t.confirm),
      snapshot: this.d.relation(t.snapshot),
      pending: this.d.relation(t.pending),
      rejections: this.d.relation(t.rejections),
      changelog: this.d.relation(t.changelog),
    };
    this.confirmTable = t.confirm;
    this.planTable = t.plan;
  }

  private readonly confirmTable;
  private readonly planTable;

  async createConfirmTable(): Promise<void> {
    await this.wh.execute(this.d.drop(this.confirmTable, 'table'));
    await this.wh.execute(this.d.createTable(this.confirmTable, CONFIRM_COLUMNS));
  }

  /**
   * The run is over. When every row got an outcome, no mark is needed any more: every pending
   * row without a snapshot row was in this plan. Otherwise the rows that may have been sent
   * (seqs in `sent`, or all of them) keep a pending mark for the next run.
   */
  async finish(resolved: boolean, sent: [number, number][] | 'all'): Promise<void> {
    const r = this.rel;
    await this.wh.execute(this.d.drop(this.confirmTable, 'table'));
    // Marks go once every row has an outcome, except for keys rejected this run: the rejected
    // send may have followed a delivery that did arrive, so the mark must outlive it.
    const mark = resolved ? `DELETE FROM ${r.pending} WHERE key NOT IN (SELECT j.key FROM ${r.rejections} j WHERE j.sync = ${this.d.quoteString(this.sync)} AND j.key IS NOT NULL)`
      // Too many ranges to name: marking all the plan's rows is more than needed, but harmless.
      : sent === 'all' || sent.length > MAX_RANGES ? markPendingSql(r.pending, r.plan, '')
      : sent.length ? markPendingSql(r.pending, r.plan, ` AND ${rangeSql(sent)}`) : undefined;
    await inOneGo(this.wh, [...(mark ? [mark] : []), this.d.drop(this.planTable, 'table')]);
  }

  /** Changes that need no request: confirmed as planned. */
  async commitSkipped(counts: { add: number; change: number; remove: number }): Promise<void> {
    await this.apply(`op = 'skip'`, counts, []);
  }

  async commit(group: ConfirmGroup): Promise<void> {
    if (!group.size) return;
    const ranges = toRanges(group.okSeqs);
    const loadSeqs = ranges.length > MAX_RANGES;
    const rows: unknown[][] = group.rejected.map((x) => [x.seq, x.key, x.op, 'rejected', x.reason]);
    if (loadSeqs) for (const seq of group.okSeqs) rows.push([seq, null, null, 'ok', null]);
    const ok = !group.okSeqs.length ? '1 = 0'
      : loadSeqs ? `seq IN (SELECT seq FROM ${this.rel.confirm} WHERE status = 'ok')`
      : rangeSql(ranges);
    await this.apply(ok, group.ok, rows);
  }

  private async apply(ok: string, counts: { add: number; change: number; remove: number }, confirmRows: unknown[][]): Promise<void> {
    const d = this.d;
    const r = this.rel;
    const now = d.currentTimestamp();
    const sync = d.quoteString(this.sync);
    const run = d.quoteString(this.runId);
    const rejected = confirmRows.some((row) => row[3] === 'rejected');
    if (confirmRows.length) {
      await this.wh.execute(`DELETE FROM ${r.confirm} WHERE 1 = 1`);
      async function* once() { yield confirmRows; }
      await this.wh.bulkLoad(this.confirmTable, CONFIRM_COLUMNS, once());
    }
    const okKeys = (extra = '') => `SELECT key FROM ${r.plan} WHERE ${ok}${extra}`;
    await this.wh.transaction(async (tx) => {
      // Planned adds have no snapshot row, except in a full resync: only the others replace one.
      if (counts.change + counts.remove || (this.fullResync && counts.add)) {
        await tx.execute(`DELETE FROM ${r.snapshot} WHERE key IN (${okKeys(this.fullResync ? '' : ` AND change <> 'add'`)})`);
      }
      if (counts.add + counts.change) {
        await tx.execute(`INSERT INTO ${r.snapshot} (key, row_hash, fields, delivered_at) SELECT key, row_hash, fields, ${now} FROM ${r.plan} WHERE ${ok} AND change <> 'remove'`);
      }
      if (this.openRejections) await tx.execute(`DELETE FROM ${r.rejections} WHERE sync = ${sync} AND key IN (${okKeys()})`);
      if (rejected) {
        await tx.execute(
          `UPDATE ${r.rejections} AS j SET attempts = j.attempts + 1, last_seen = ${now}, reason = x.reason, op = x.op ` +
          `FROM (SELECT key, op, reason FROM ${r.confirm} WHERE status = 'rejected') AS x WHERE j.sync = ${sync} AND j.key = x.key`);
        await tx.execute(
          `INSERT INTO ${r.rejections} (sync, key, op, reason, attempts, first_seen, last_seen) ` +
          `SELECT ${sync}, x.key, x.op, x.reason, 1, ${now}, ${now} FROM ${r.confirm} AS x WHERE x.status = 'rejected' ` +
          `AND NOT EXISTS (SELECT 1 FROM ${r.rejections} j WHERE j.sync = ${sync} AND j.key = x.key)`);
      }
      await tx.execute(`INSERT INTO ${r.changelog} (sync, run_id, key, op, sent_at) SELECT ${sync}, ${run}, key, op, ${now} FROM ${r.plan} WHERE ${ok} AND op <> 'skip'`);
    });
    if (rejected) this.openRejections = true;
  }
}

/** Sorted, contiguous runs of the numbers: [first, last] pairs. */
export function toRanges(seqs: number[]): [number, number][] {
  const sorted = Float64Array.from(seqs).sort();
  const out: [number, number][] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else if (!last || s !== last[1]) out.push([s, s]);
  }
  return out;
}

/** Sorted, merged [first, last] ranges. */
export function mergeRanges(ranges: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function rangeSql(ranges: [number, number][]): string {
  return `(${ranges.map(([a, b]) => (a === b ? `seq = ${a}` : `seq BETWEEN ${a} AND ${b}`)).join(' OR ')})`;
}

function markPendingSql(pending: string, plan: string, where: string): string {
  return `INSERT INTO ${pending} (key, fields) SELECT key, fields FROM ${plan} WHERE op <> 'skip'${where}`;
}

/** In one transaction where DDL may be part of one; elsewhere in order, which a retry repeats safely. */
async function inOneGo(wh: Warehouse, statements: string[]): Promise<void> {
  if (wh.dialect.capabilities.transactionalDdl) {
    await wh.transaction(async (tx) => {
      for (const sql of statements) await tx.execute(sql);
    });
  } else {
    for (const sql of statements) await wh.execute(sql);
  }
}

/** A plan left by a run that crashed: its rows may have been sent, so they become pending. */
export async function recoverPlan(wh: Warehouse, t: SyncTables): Promise<void> {
  if (!(await wh.columns(t.plan)).length) return;
  const d = wh.dialect;
  await inOneGo(wh, [markPendingSql(d.relation(t.pending), d.relation(t.plan), ''), d.drop(t.plan, 'table')]);
}
