/**
 * The sync engine's tables, all in the warehouse's state schema: the warehouse is the
 * source of truth and the process keeps nothing a crash could lose.
 */
import { ensureSchema, existingKind } from '../materializations/swap.js';
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

/** Creates whatever is missing. Column types come from the dialect; DDL is idempotent. */
export async function ensureSyncTables(wh: Warehouse, t: SyncTables): Promise<void> {
  const d = wh.dialect;
  const text = d.typeName('text');
  const ts = d.typeName('timestamp');
  const big = d.typeName('bigint');
  await ensureSchema(wh, t.snapshot.schema);
  const create = (rel: Relation, cols: string) => wh.execute(`CREATE TABLE IF NOT EXISTS ${d.relation(rel)} (${cols})`);
  // Where keys are only declarations (BigQuery, Snowflake) they are left out: see lock.ts.
  const pk = d.capabilities.enforcedPrimaryKeys ? ' PRIMARY KEY' : '';
  await finishInterruptedUpgrade(wh, t);
  await create(t.snapshot, snapshotColumns(wh));
  await create(t.pending, `key ${text}, fields ${text}`);
  await create(t.runs, `sync ${text}, run_id ${text}, started_at ${ts}, finished_at ${ts}, status ${text}, full_resync boolean, planned ${big}, added ${big}, changed ${big}, removed ${big}, skipped ${big}, rejected ${big}, retried ${big}, requests ${big}, message ${text}`);
  await create(t.rejections, `sync ${text}, key ${text}, op ${text}, reason ${text}, attempts ${big}, first_seen ${ts}, last_seen ${ts}`);
  await create(t.changelog, `sync ${text}, run_id ${text}, key ${text}, op ${text}, sent_at ${ts}`);
  await create(t.locks, `sync ${text}${pk}, run_id ${text}, pid ${big}, host ${text}, acquired_at ${ts}`);
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
export async function snapshotHasOldShape(wh: Warehouse, t: SyncTables): Promise<boolean> {
  const hashColumn = (await wh.columns(t.snapshot)).find((c) => c.name === 'row_hash');
  return Boolean(hashColumn && /char|text|string/i.test(hashColumn.dataType));
}

const upgradeTable = (t: SyncTables): Relation => ({ schema: t.snapshot.schema, name: `${t.snapshot.name}_next` });

/**
 * Converts an old-shape snapshot; call it holding the sync's lock. Returns true when it did: its
 * hashes are then unknown, so every row still in the source is sent again once. Where DDL is
 * not transactional a crash can stop it between dropping the old table and renaming the new
 * one; finishInterruptedUpgrade then completes it before anything else reads the snapshot.
 */
export async function upgradeSnapshot(wh: Warehouse, t: SyncTables): Promise<boolean> {
  const d = wh.dialect;
  if (!(await snapshotHasOldShape(wh, t))) return false;
  const columns = snapshotColumns(wh);
  const next = upgradeTable(t);
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

/** A copy left by an upgrade that stopped: complete when the old table is gone, else start over. */
async function finishInterruptedUpgrade(wh: Warehouse, t: SyncTables): Promise<void> {
  const next = upgradeTable(t);
  if (!(await existingKind(wh, next))) return;
  if (await existingKind(wh, t.snapshot)) await wh.execute(wh.dialect.drop(next, 'table'));
  else await wh.execute(wh.dialect.rename(next, 'table', t.snapshot.name));
}
