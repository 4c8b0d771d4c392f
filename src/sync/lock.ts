/**
 * One run per sync at a time: a row in `sync_locks`, taken by a conditional insert. Where the
 * warehouse enforces primary keys (DuckDB, PostgreSQL) the insert alone is atomic. On BigQuery
 * and Snowflake (keys are declarations only) two runs starting in the same instant can both
 * insert; the read after the insert then makes at least one of them back off, so runs never
 * overlap. A lock left by a process that died on this host is taken over.
 */
import os from 'node:os';
import { CdpError, EXIT_FAILURE } from '../errors.js';
import type { Warehouse } from '../warehouse/types.js';
import type { SyncTables } from './state.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(wh: Warehouse, t: SyncTables, sync: string, runId: string): Promise<void> {
  const d = wh.dialect;
  const locks = d.relation(t.locks);
  const insert = async () => {
    await wh.execute(
      `INSERT INTO ${locks} (sync, run_id, pid, host, acquired_at) SELECT $1, $2, $3, $4, ${d.currentTimestamp()} ` +
      `FROM (SELECT 1 AS one) AS x WHERE NOT EXISTS (SELECT 1 FROM ${locks} WHERE sync = $5)`,
      [sync, runId, process.pid, os.hostname(), sync],
    );
    // Write, then read: each statement commits, so of two runs that both passed the NOT EXISTS
    // (possible where primary keys are not enforced), the later reader sees both rows and backs
    // off. At most one run ever sees only its own row; at worst both back off and retry later.
    const rows = await wh.query<{ run_id: string }>(`SELECT run_id FROM ${locks} WHERE sync = $1`, [sync]);
    if (rows.length === 1 && rows[0]!.run_id === runId) return;
    if (rows.some((r) => r.run_id === runId)) await wh.execute(`DELETE FROM ${locks} WHERE sync = $1 AND run_id = $2`, [sync, runId]);
    throw new Error('held');
  };
  try {
    await insert();
    return;
  } catch {
    // Held: find out by whom.
  }
  const [holder] = await wh.query<{ run_id: string; pid: number; host: string; acquired_at: Date }>(`SELECT run_id, pid, host, acquired_at FROM ${locks} WHERE sync = $1`, [sync]);
  if (holder && holder.host === os.hostname() && !alive(Number(holder.pid))) {
    await wh.execute(`DELETE FROM ${locks} WHERE sync = $1 AND run_id = $2`, [sync, holder.run_id]);
    try {
      await insert();
      return;
    } catch {
      // Someone else took it over first.
    }
  }
  const since = holder?.acquired_at instanceof Date ? holder.acquired_at.toISOString() : 'an unknown time';
  throw new CdpError(`sync "${sync}" is already running (run ${holder?.run_id ?? '?'}, pid ${holder?.pid ?? '?'} on ${holder?.host ?? '?'}, since ${since}); nothing was sent`, {
    exitCode: EXIT_FAILURE,
    hint: 'wait for it to finish; runs of one sync never overlap',
  });
}

export async function releaseLock(wh: Warehouse, t: SyncTables, sync: string, runId: string): Promise<void> {
  await wh.execute(`DELETE FROM ${wh.dialect.relation(t.locks)} WHERE sync = $1 AND run_id = $2`, [sync, runId]);
}
