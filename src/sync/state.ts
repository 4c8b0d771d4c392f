/**
 * The sync engine's tables, all in the warehouse's state schema: the warehouse is the
 * source of truth and the process keeps nothing a crash could lose.
 */
import { ensureSchema } from '../materializations/swap.js';
import type { Relation, Warehouse } from '../warehouse/types.js';

export interface SyncTables {
  snapshot: Relation;
  /** Rows handed to the destination whose outcome is not committed yet (a crash leaves them here). */
  pending: Relation;
  plan: Relation;
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
  await create(t.snapshot, `key ${text}${pk}, row_hash ${text} NOT NULL, fields ${text}, delivered_at ${ts}`);
  await create(t.pending, `key ${text}, fields ${text}`);
  await create(t.runs, `sync ${text}, run_id ${text}, started_at ${ts}, finished_at ${ts}, status ${text}, full_resync boolean, planned ${big}, added ${big}, changed ${big}, removed ${big}, skipped ${big}, rejected ${big}, retried ${big}, requests ${big}, message ${text}`);
  await create(t.rejections, `sync ${text}, key ${text}, op ${text}, reason ${text}, attempts ${big}, first_seen ${ts}, last_seen ${ts}`);
  await create(t.changelog, `sync ${text}, run_id ${text}, key ${text}, op ${text}, sent_at ${ts}`);
  await create(t.locks, `sync ${text}${pk}, run_id ${text}, pid ${big}, host ${text}, acquired_at ${ts}`);
}
