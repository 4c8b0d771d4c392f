/**
 * The sync lock where primary keys are not enforced (BigQuery, Snowflake): the lock table has
 * no key, and a second run's row lands between our conditional insert and our read, as it
 * can when two runs start in the same instant. Real DuckDB; the racer is a real second insert.
 */
import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, releaseLock } from '../src/sync/lock.js';
import { syncTables } from '../src/sync/state.js';
import { openWarehouse } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';

const t = syncTables('cdp_state', 'to_hook');
let wh: Warehouse;

/** The same warehouse, with a racer's insert committed right after each of our lock inserts. */
function withRacer(inner: Warehouse, racerRunId: string): Warehouse {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'execute') return Reflect.get(target, prop, receiver);
      return async (sql: string, params?: unknown[]) => {
        const result = await target.execute(sql, params);
        if (/^INSERT INTO .*sync_locks/.test(sql)) {
          await target.execute(`INSERT INTO cdp_state.sync_locks VALUES ('to_hook', '${racerRunId}', 1, 'elsewhere', now())`);
        }
        return result;
      };
    },
  });
}

const holders = async () => (await wh.query<{ run_id: string }>('SELECT run_id FROM cdp_state.sync_locks ORDER BY run_id')).map((r) => r.run_id);

beforeEach(async () => {
  wh = await openWarehouse({ type: 'duckdb', path: ':memory:' });
  await wh.execute('CREATE SCHEMA cdp_state');
  // As on BigQuery and Snowflake: no enforced key on `sync`.
  await wh.execute('CREATE TABLE cdp_state.sync_locks (sync text, run_id text, pid bigint, host text, acquired_at timestamp)');
});
afterEach(async () => wh.close());

describe('sync lock without enforced keys', () => {
  it('backs off when a racing run inserted its row in the same instant, and leaves no row of its own', async () => {
    const err = await acquireLock(withRacer(wh, 'racer'), t, 'to_hook', 'mine').then(() => undefined, (e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/sync "to_hook" is already running \(run racer, pid 1 on elsewhere/);
    expect(await holders()).toEqual(['racer']);
  });

  it('takes the lock when it is alone, refuses a second run, and frees it on release', async () => {
    await acquireLock(wh, t, 'to_hook', 'first');
    expect(await holders()).toEqual(['first']);
    const err = await acquireLock(wh, t, 'to_hook', 'second').then(() => undefined, (e: unknown) => e);
    expect(String((err as Error).message)).toContain(`already running (run first, pid ${process.pid} on ${os.hostname()}`);
    expect(await holders()).toEqual(['first']);
    await releaseLock(wh, t, 'to_hook', 'first');
    expect(await holders()).toEqual([]);
  });
});
