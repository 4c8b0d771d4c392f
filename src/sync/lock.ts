/**
 * One run per sync at a time: a row in `sync_locks`, taken by a conditional insert. Where the
 * warehouse enforces primary keys (DuckDB, PostgreSQL) the insert is atomic; on BigQuery and
 * Snowflake two runs starting in the same instant could both pass, so schedule one runner
 * (`cdp serve`) per sync there. A lock left by a process that died on this host is taken over.
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
    const [mine] = await wh.query<{ run_id: string }>(`SELECT run_id FROM ${locks} WHERE sync = $1`, [sync]);
    if (mine?.run_id !== runId) throw new Error('held');
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
