/**
 * Building a segment: the new membership goes into a staging table and is checked (a
 * profile_id column, no NULL or repeated ids) before anything else changes; then, in one
 * transaction, the membership history is brought up to date, the size recorded and the
 * staging table swapped in. A failed check or statement leaves table, history and sizes as
 * they were.
 */
import { CdpError, formatLocation } from '../errors.js';
import { didYouMean } from '../project/schema.js';
import { dropIfExists, ensureSchema, existingKind, replaceAtomically, stagingRelation } from '../materializations/swap.js';
import type { ColumnSpec, Relation, Warehouse } from '../warehouse/types.js';
import { HISTORY_COLUMNS, HISTORY_TABLE, historyStatements, SIZES_COLUMNS, SIZES_TABLE } from './history.js';
import type { NamedColumn } from './node.js';

export interface SegmentBuild {
  /** The segment's name: its key in history and sizes. */
  segment: string;
  relation: Relation;
  select: string;
  stateSchema: string;
  runId: string;
  /** How to name the SQL in errors, e.g. "the select of model vip". */
  describe: string;
}

export interface SegmentCounts {
  members: number;
  entered: number;
  exited: number;
}

const SAMPLE = 5;

export async function buildSegment(wh: Warehouse, b: SegmentBuild): Promise<SegmentCounts> {
  const d = wh.dialect;
  const staging = stagingRelation(b.relation, 'tmp');
  await ensureSchema(wh, b.relation.schema);
  await ensureStateTables(wh, b.stateSchema);
  await dropIfExists(wh, d, staging, 'table');
  try {
    await wh.execute(d.createTableAs(staging, b.select));
    const members = await checkMembers(wh, staging, b.describe);
    const sql = historyStatements({ dialect: d, stateSchema: b.stateSchema, segment: b.segment, members: staging, at: new Date(), runId: b.runId });
    let counts: SegmentCounts = { members, entered: 0, exited: 0 };
    await replaceAtomically(wh, b.relation, async (tx) => {
      // One session: statements run one after another.
      const [entered] = await tx.query<{ n: number }>(sql.countEntered);
      const [exited] = await tx.query<{ n: number }>(sql.countExited);
      counts = { members, entered: Number(entered.n), exited: Number(exited.n) };
      await tx.execute(sql.closeExited);
      await tx.execute(sql.openEntered);
      await tx.execute(sql.recordSize(counts.members, counts.entered, counts.exited));
      await tx.execute(d.rename(staging, 'table', b.relation.name));
    });
    return counts;
  } catch (err) {
    await dropIfExists(wh, d, staging, 'table').catch(() => undefined);
    throw err;
  }
}

/** Returns the member count, or throws naming what is wrong with the ids. */
async function checkMembers(wh: Warehouse, staging: Relation, describe: string): Promise<number> {
  const d = wh.dialect;
  const columns = (await wh.columns(staging)).map((c) => c.name);
  if (!columns.includes('profile_id')) {
    const near = didYouMean('profile_id', columns);
    throw new CdpError(`${describe} returns no profile_id column`, {
      hint: `a segment selects one row per profile, with its id in a column named profile_id${near ? ` (found "${near}": alias it, e.g. \`${d.quoteIdent(near)} AS profile_id\`)` : `; its columns are: ${columns.join(', ')}`}`,
    });
  }
  const rel = d.relation(staging);
  const id = d.quoteIdent('profile_id');
  const [stats] = await wh.query<{ n: number; ids: number; distinct_ids: number }>(
    `SELECT count(*) AS ${d.quoteIdent('n')}, count(${id}) AS ${d.quoteIdent('ids')}, count(DISTINCT ${id}) AS ${d.quoteIdent('distinct_ids')} FROM ${rel}`,
  );
  const [n, ids, distinct] = [Number(stats.n), Number(stats.ids), Number(stats.distinct_ids)];
  if (ids < n) {
    throw new CdpError(`${describe} returns ${n - ids} row${n - ids === 1 ? '' : 's'} with a NULL profile_id`, { hint: 'filter them out (`where profile_id is not null`): a segment holds profiles' });
  }
  if (distinct < n) {
    const dupes = await wh.query<{ profile_id: unknown; n: number }>(
      `SELECT ${id}, count(*) AS ${d.quoteIdent('n')} FROM ${rel} GROUP BY ${id} HAVING count(*) > 1 ORDER BY count(*) DESC, ${id} LIMIT ${SAMPLE}`,
    );
    const sample = dupes.map((r) => `${String(r.profile_id)} (${Number(r.n)}x)`).join(', ');
    throw new CdpError(`${describe} returns ${n - distinct} repeated profile_id value${n - distinct === 1 ? '' : 's'}, e.g. ${sample}`, {
      hint: 'a segment has one row per profile: group by profile_id, or pick one row per profile',
    });
  }
  return n;
}

/** Fails with the spec's file and line when `from` lacks a column a rule segment names. */
export async function checkSourceColumns(wh: Warehouse, from: Relation, fromName: string, wanted: NamedColumn[]): Promise<void> {
  if (!(await existingKind(wh, from))) {
    throw new CdpError(`${fromName} (${wh.dialect.relation(from)}) does not exist yet`, { hint: `build it first: cdp run -s +${fromName}` });
  }
  const present = (await wh.columns(from)).map((c) => c.name);
  const missing = wanted.filter((c) => !present.includes(c.name));
  if (missing.length === 0) return;
  const first = missing[0];
  const near = didYouMean(first.name, present);
  const key = first.location.key ? ` (key \`${first.location.key}\`)` : '';
  const more = missing.length > 1 ? `; also missing: ${missing.slice(1).map((c) => c.name).join(', ')}` : '';
  // Run-time errors are shown as one line without a location, so the file and line lead the message.
  throw new CdpError(`${formatLocation(first.location)}: column "${first.name}" is not in ${fromName}${key}${more}`, {
    location: first.location,
    hint: near ? `did you mean "${near}"?` : `its columns are: ${present.join(', ')}`,
  });
}

const stateTables = new WeakMap<Warehouse, Map<string, Promise<void>>>();

/** Creates the history and sizes tables once per warehouse and schema, shared by parallel builds. */
function ensureStateTables(wh: Warehouse, schema: string): Promise<void> {
  let bySchema = stateTables.get(wh);
  if (!bySchema) stateTables.set(wh, (bySchema = new Map()));
  let pending = bySchema.get(schema);
  if (!pending) {
    pending = (async () => {
      await ensureSchema(wh, schema);
      await createTableOnce(wh, { schema, name: HISTORY_TABLE }, HISTORY_COLUMNS);
      await createTableOnce(wh, { schema, name: SIZES_TABLE }, SIZES_COLUMNS);
    })();
    bySchema.set(schema, pending);
    pending.catch(() => bySchema!.delete(schema));
  }
  return pending;
}

async function createTableOnce(wh: Warehouse, rel: Relation, columns: ColumnSpec[]): Promise<void> {
  if (await existingKind(wh, rel)) return;
  try {
    await wh.execute(wh.dialect.createTable(rel, columns));
  } catch (err) {
    // Another process may have created it at the same moment.
    if (!(await existingKind(wh, rel))) throw err;
  }
}
