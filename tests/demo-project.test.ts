/**
 * The bundled demo project, end to end on DuckDB and PostgreSQL: what the README's main
 * command builds, checked against the generator's ground truth.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateIdentity } from '../src/identity/evaluate.js';
import { loadConfig, resolveTarget } from '../src/project/config.js';
import { runCommand } from '../src/runner/run.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { createPgDatabase, dropPgDatabase, PG } from './helpers/project.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

function copyDemo(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdp-demo-'));
  for (const part of ['cdp.config.yaml', 'models', 'seeds', 'macros', 'data']) cpSync(path.join(repo, part), path.join(dir, part), { recursive: true });
  return dir;
}

describe.each(['duckdb', 'postgres'])('the demo project on %s', (kind) => {
  let dir: string;
  let db = '';
  let wh: Warehouse;
  let exitCode: number;

  beforeAll(async () => {
    dir = copyDemo();
    if (kind === 'postgres') {
      db = await createPgDatabase();
      const config = path.join(dir, 'cdp.config.yaml');
      const text = (await import('node:fs')).readFileSync(config, 'utf8').replace('database: cdp_demo', `database: ${db}`);
      writeFileSync(config, text);
    }
    const target = kind === 'postgres' ? 'postgres' : undefined;
    exitCode = (await runCommand({ command: 'build', projectDir: dir, target, out: quiet })).exitCode;
    const resolved = resolveTarget(loadConfig(dir), target);
    wh = await openWarehouse(resolved.settings as TargetConfig);
  }, 240_000);

  afterAll(async () => {
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
    if (db) await dropPgDatabase(db);
  });

  it('builds every node and passes every data test', () => {
    expect(exitCode).toBe(0);
  });

  it('meets the accuracy targets against the ground truth', async () => {
    const r = await evaluateIdentity(wh, {
      sourceRecords: { schema: 'analytics', name: 'customer_source_records' },
      truthFile: path.join(dir, 'data/ground_truth.csv'),
      stateSchema: 'cdp_state',
    });
    expect(r.unmatchedTruth).toBe(0);
    expect(r.unmatchedResolved).toBe(0);
    expect(r.precision).toBeGreaterThanOrEqual(0.99);
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('respects the per-profile limits and keeps every record in exactly one profile', async () => {
    const over = await wh.query(`select profile_id from analytics.customer_identifiers where id_type = 'customer_id' group by profile_id having count(*) > 1`);
    expect(over).toEqual([]);
    const [{ records, distinct_records }] = await wh.query<{ records: number; distinct_records: number }>(
      `select count(*) as records, count(distinct source || ':' || record_key) as distinct_records from analytics.customer_source_records`);
    expect(records).toBe(distinct_records);
  });

  it('builds a golden record per profile', async () => {
    const [{ profiles }] = await wh.query<{ profiles: number }>('select count(*) as profiles from analytics.customer_profiles');
    const [{ golden, with_orders }] = await wh.query<{ golden: number; with_orders: number }>(
      'select count(*) as golden, count(*) filter (where order_count > 0) as with_orders from analytics.customer_golden');
    expect(golden).toBe(profiles);
    expect(with_orders).toBeGreaterThan(0);
  });

  it('gives a person who changed employer one profile and a new membership', async () => {
    const changed = await wh.query<{ person_id: string; n: number; ended: number }>(
      `select person_id, count(*) as n, count(valid_to) as ended from analytics.person_account_memberships group by person_id having count(*) > 1 order by person_id limit 5`);
    expect(changed.length).toBeGreaterThan(0);
    for (const person of changed) expect(person.ended).toBe(person.n - 1);
  });
});
