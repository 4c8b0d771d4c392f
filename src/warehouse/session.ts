/**
 * Pieces both SQL adapters share: transactions on one session and catalogue queries.
 */
import type { Executor, RelationInfo } from './types.js';

/** Runs `fn` between BEGIN and COMMIT on one session; rolls back if anything throws. */
export async function withTransaction<T>(session: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  await session.execute('BEGIN TRANSACTION');
  try {
    const result = await fn(session);
    await session.execute('COMMIT');
    return result;
  } catch (err) {
    // A failed COMMIT has already ended the transaction, so this ROLLBACK may itself fail.
    await session.execute('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Tables and views of a schema from information_schema; `scope` narrows it further (e.g. to the current catalog). */
export async function listRelations(exec: Executor, schema: string, scope = ''): Promise<RelationInfo[]> {
  const rows = await exec.query<{ name: string; table_type: string }>(
    `SELECT table_name AS name, table_type FROM information_schema.tables
     WHERE table_schema = $1 AND table_type IN ('BASE TABLE', 'VIEW')${scope ? ` AND ${scope}` : ''}
     ORDER BY table_name`,
    [schema],
  );
  return rows.map((r) => ({ schema, name: r.name, kind: r.table_type === 'VIEW' ? 'view' : 'table' }));
}

