/**
 * SQL for a segment's state tables in the project's state schema:
 *
 * - `segment_membership_history (segment, profile_id, entered_at, exited_at)`: one row per stay
 *   in a segment; the open stay has exited_at NULL. Leaving closes it; coming back opens a new one.
 * - `segment_sizes (segment, run_id, built_at, members, entered, exited)`: one row per build,
 *   for trends.
 *
 * Each build compares the new membership (the staging table) with the open stays. profile_id
 * is kept as text, so SQL segments may return ids of any type.
 */
import type { ColumnSpec, Dialect, Relation } from '../warehouse/types.js';

export const HISTORY_TABLE = 'segment_membership_history';
export const SIZES_TABLE = 'segment_sizes';

export const HISTORY_COLUMNS: ColumnSpec[] = [
  { name: 'segment', type: 'text' },
  { name: 'profile_id', type: 'text' },
  { name: 'entered_at', type: 'timestamp' },
  { name: 'exited_at', type: 'timestamp' },
];

export const SIZES_COLUMNS: ColumnSpec[] = [
  { name: 'segment', type: 'text' },
  { name: 'run_id', type: 'text' },
  { name: 'built_at', type: 'timestamp' },
  { name: 'members', type: 'bigint' },
  { name: 'entered', type: 'bigint' },
  { name: 'exited', type: 'bigint' },
];

export interface HistoryContext {
  dialect: Dialect;
  stateSchema: string;
  segment: string;
  /** The new membership, with a profile_id column. */
  members: Relation;
  /** One instant for every change of a build, as a JS date (UTC). */
  at: Date;
  runId: string;
}

export interface HistoryStatements {
  /** Queries returning one row `{ n }`; run before the changes. */
  countEntered: string;
  countExited: string;
  /** Statements, in order. */
  closeExited: string;
  openEntered: string;
  recordSize(members: number, entered: number, exited: number): string;
}

export function historyStatements(ctx: HistoryContext): HistoryStatements {
  const d = ctx.dialect;
  const q = (n: string) => d.quoteIdent(n);
  const history = d.relation({ schema: ctx.stateSchema, name: HISTORY_TABLE });
  const sizes = d.relation({ schema: ctx.stateSchema, name: SIZES_TABLE });
  const members = d.relation(ctx.members);
  const segment = d.quoteString(ctx.segment);
  const at = timestampLiteral(ctx.at, d);
  const memberId = (alias: string) => d.cast(`${q(alias)}.${q('profile_id')}`, 'text');
  const open = (alias: string) => `${q(alias)}.${q('segment')} = ${segment} AND ${q(alias)}.${q('exited_at')} IS NULL`;
  const isOpen = `EXISTS (SELECT 1 FROM ${history} AS ${q('h')} WHERE ${open('h')} AND ${q('h')}.${q('profile_id')} = ${memberId('m')})`;
  // UPDATE targets are referred to by their bare table name: aliases in UPDATE differ across warehouses.
  const stillMember = (ref: string) => `EXISTS (SELECT 1 FROM ${members} AS ${q('m')} WHERE ${memberId('m')} = ${ref}.${q('profile_id')})`;
  return {
    countEntered: `SELECT count(*) AS ${q('n')} FROM ${members} AS ${q('m')} WHERE NOT ${isOpen}`,
    countExited: `SELECT count(*) AS ${q('n')} FROM ${history} AS ${q('h')} WHERE ${open('h')} AND NOT ${stillMember(q('h'))}`,
    closeExited:
      `UPDATE ${history} SET ${q('exited_at')} = ${at}\n` +
      `WHERE ${q('segment')} = ${segment} AND ${q('exited_at')} IS NULL AND NOT ${stillMember(q(HISTORY_TABLE))}`,
    openEntered:
      `INSERT INTO ${history} (${HISTORY_COLUMNS.map((c) => q(c.name)).join(', ')})\n` +
      `SELECT ${segment}, ${memberId('m')}, ${at}, ${d.cast('NULL', 'timestamp')} FROM ${members} AS ${q('m')} WHERE NOT ${isOpen}`,
    recordSize: (n, entered, exited) =>
      `INSERT INTO ${sizes} (${SIZES_COLUMNS.map((c) => q(c.name)).join(', ')})\n` +
      `VALUES (${segment}, ${d.quoteString(ctx.runId)}, ${at}, ${count(n)}, ${count(entered)}, ${count(exited)})`,
  };
}

function count(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a count: ${n}`);
  return String(n);
}

/** A zone-less UTC timestamp literal, millisecond precision. */
export function timestampLiteral(at: Date, d: Dialect): string {
  return d.cast(d.quoteString(at.toISOString().replace('T', ' ').replace('Z', '')), 'timestamp');
}
