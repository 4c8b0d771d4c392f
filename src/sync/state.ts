/**
 * The sync engine's tables, all in the warehouse's state schema: the warehouse is the
 * source of truth and the process keeps nothing a crash could lose.
 */
import { ensureSchema } from '../materializations/swap.js';
import type { Relation, Warehouse } from '../warehouse/types.js';

export interface SyncTables {
  snapshot: Relation;
  /**
   * Rows handed to the destination by a run that did not finish, so they may or may not have
   * arrived. While a run is going, its plan table plays this part (see commit.ts).
   */
  pending: Relation;
  plan: Relation;
  /** A dry run's plan: never the plan of a run that may be going on or may have crashed. */
  dryRunPlan: Relation;
  confirm: Relation;
  runs: Relation;
  rejections: Relation;
  changelog: Relation;
  locks: Relation;
}

export function syncTables(stateSchema: string, sync: string): SyncTables {
  const rel = (name: string): Relation => ({ schema: stateSchema, name });
  return {
    snapshot: rel(`sync_${sync}_snapshot`),
    pending: rel(`sync_${sync}_pending`),
    plan: rel(`sync_${sync}_plan`),
    dryRunPlan: rel(`sync_${sync}_plan_dry`),
    confirm: rel(`sync_${sync}_confirm`),
    runs: rel('sync_runs'),
    rejections: rel('sync_rejections'),
    changelog: rel('sync_changelog'),
    locks: rel('sync_locks'),
  };
}

/**
 * Creates whatever is missing. Column types come from the dialect; DDL is idempotent.
 * Returns true when the snapshot had the shape of an older version and was converted: its
 * hashes are then unknown, so every row still in the source is sent again once.
 */
export async function ensureSyncTables(wh: Warehouse, t: SyncTables): Promise<boolean> {
  const d = wh.dialect;
  const text = d.typeName('text');
  const ts = d.typeName('timestamp');
  const big = d.typeName('bigint');
  await ensureSchema(wh, t.snapshot.schema);
  const create = (rel: Relation, cols: string) => wh.execute(`CREATE TABLE IF NOT EXISTS ${d.relation(rel)} (${cols})`);
  // Where keys are only declarations (BigQuery, Snowflake) they are left out: see lock.ts.
  const pk = d.capabilities.enforcedPrimaryKeys ? ' PRIMARY KEY' : '';
  const migrated = await upgradeSnapshot(wh, t, snapshotColumns(wh));
  await create(t.snapshot, snapshotColumns(wh));
  await create(t.pending, `key ${text}, fields ${text}`);
  await create(t.runs, `sync ${text}, run_id ${text}, started_at ${ts}, finished_at ${ts}, status ${text}, full_resync boolean, planned ${big}, added ${big}, changed ${big}, removed ${big}, skipped ${big}, rejected ${big}, retried ${big}, requests ${big}, message ${text}`);
  await create(t.rejections, `sync ${text}, key ${text}, op ${text}, reason ${text}, attempts ${big}, first_seen ${ts}, last_seen ${ts}`);
  await create(t.changelog, `sync ${text}, run_id ${text}, key ${text}, op ${text}, sent_at ${ts}`);
  await create(t.locks, `sync ${text}${pk}, run_id ${text}, pid ${big}, host ${text}, acquired_at ${ts}`);
  return migrated;
}

/**
 * `row_hash` is the dialect's 64-bit rowHash of the mapped columns; NULL means "delivered, content
 * unknown", so the row is sent again. The key is indexed only where that speeds up the keyed
 * deletes of each commit (PostgreSQL); in DuckDB the index would cost more than it saves.
 */
function snapshotColumns(wh: Warehouse): string {
  const d = wh.dialect;
  const pk = d.capabilities.enforcedPrimaryKeys && d.capabilities.keyIndexes ? ' PRIMARY KEY' : '';
  return `key ${d.typeName('text')}${pk}, row_hash ${d.typeName('bigint')}, fields ${d.typeName('text')}, delivered_at ${d.typeName('timestamp')}`;
}

/**
 * Before 64-bit row hashes, `row_hash` held hex SHA-256 text. Such a snapshot is copied into the
 * current shape with unknown hashes: what was delivered (and its fields, for removals) is kept.
 */
async function upgradeSnapshot(wh: Warehouse, t: SyncTables, columns: string): Promise<boolean> {
  const d = wh.dialect;
  const hashColumn = (await wh.columns(t.snapshot)).find((c) => c.name === 'row_hash');
  if (!hashColumn || !/char|text|string/i.test(hashColumn.dataType)) return false;
  const next: Relation = { schema: t.snapshot.schema, name: `${t.snapshot.name}_next` };
  const steps = [
    d.drop(next, 'table'),
    `CREATE TABLE ${d.relation(next)} (${columns})`,
    `INSERT INTO ${d.relation(next)} (key, row_hash, fields, delivered_at) SELECT key, NULL, fields, delivered_at FROM ${d.relation(t.snapshot)}`,
    d.drop(t.snapshot, 'table'),
    d.rename(next, 'table', t.snapshot.name),
  ];
  if (d.capabilities.transactionalDdl) {
    await wh.transaction(async (tx) => {
      for (const sql of steps) await tx.execute(sql);
    });
  } else {
    for (const sql of steps) await wh.execute(sql);
  }
  return true;
}
