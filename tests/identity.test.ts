/**
 * Identity resolution on real DuckDB and PostgreSQL: rules on small hand-made graphs,
 * engine equality on adversarial graphs, and stable IDs across runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { localEngine, sqlEngine } from '../src/identity/components.js';
import { explainIdentifier, identityStats } from '../src/identity/explain.js';
import type { IdentityNodeSpec } from '../src/materializations/identity-graph.js';
import { loadConfig, resolveTarget } from '../src/project/config.js';
import { runCommand } from '../src/runner/run.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Relation, Row, Warehouse } from '../src/warehouse/types.js';
import { configYaml, createPgDatabase, dropPgDatabase, duckdbTarget, makeProject, PG, postgresTarget, removeProject, writeFiles, type TargetFixture } from './helpers/project.js';

const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

async function withWarehouse<T>(dir: string, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await openWarehouse(resolveTarget(loadConfig(dir), undefined).settings as TargetConfig);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** Rows of the normalisation cache (every distinct raw value of the last run), optionally filtered. */
async function cachedValues(dir: string, where = '1 = 1'): Promise<Row[]> {
  return withWarehouse(dir, (wh) => wh.query(`select id_type, raw_value, id_value, reason from cdp_state.person_identity_cache_values where ${where} order by id_type, raw_value`));
}

/** Groups of record keys that share a profile, as sorted strings: a partition independent of IDs. */
async function partition(wh: Warehouse, table = 'analytics.person_source_records'): Promise<string[]> {
  const rows = await wh.query<{ profile_id: string; source: string; record_key: string }>(`select profile_id, source, record_key from ${table}`);
  const groups = new Map<string, string[]>();
  for (const r of rows) groups.set(r.profile_id, [...(groups.get(r.profile_id) ?? []), `${r.source}:${r.record_key}`]);
  return [...groups.values()].map((g) => g.sort().join(' ')).sort();
}

const SPEC = (engine: string) => `entity: person
engine: ${engine}
id_types:
  customer_id: { limit: 1, priority: 1 }
  email: { normalize: email, limit: 2, priority: 2, max_degree: 3 }
  phone: { normalize: phone, default_country: US, priority: 3 }
blocklist:
  email: ["shared@kiosk.com"]
sources:
  - from: contacts
    key: id
    ids: { customer_id: cid, email: email, phone: phone }
    updated_at: updated_at
  - from: orders
    key: order_no
    ids: { email: email, phone: phone }
    updated_at: ordered_at
`;

const CONTACTS = `id,cid,email,phone,updated_at
c1,A, Ann@Acme.io ,+1 (415) 555-0101,2026-01-01 00:00:00
c2,,ann@acme.io,,2026-02-01 00:00:00
c3,B,bob@acme.io,415.555.0202,2026-01-05 00:00:00
c4,C,test@test.com,,2026-01-06 00:00:00
c5,D,test@test.com,,2026-01-07 00:00:00
c6,E,shared@kiosk.com,,2026-01-08 00:00:00
c7,F,shared@kiosk.com,,2026-01-09 00:00:00
c8,G,house@family.com,,2026-01-10 00:00:00
c9,H,house@family.com,,2026-01-11 00:00:00
c10,I,not-an-email,,2026-01-12 00:00:00
c11,J,hub@x.com,,2026-01-13 00:00:00
c12,K,hub@x.com,,2026-01-13 00:00:00
c13,L,hub@x.com,,2026-01-13 00:00:00
c14,M,hub@x.com,,2026-01-13 00:00:00
`;
const ORDERS = `order_no,email,phone,ordered_at
o1,ANN@acme.io,,2026-03-01 00:00:00
o2,,4155550202,2026-03-02 00:00:00
o3,nobody@else.com,,2026-03-03 00:00:00
`;

describe.each([duckdbTarget(), postgresTarget()])('identity graph on $name', (target: TargetFixture) => {
  let dir: string;
  beforeAll(async () => {
    await target.setup();
    dir = makeProject({
      'cdp.config.yaml': configYaml(target),
      'seeds/contacts.csv': CONTACTS,
      'seeds/orders.csv': ORDERS,
      'seeds/seeds.yml': 'seeds:\n  - name: contacts\n    config: { column_types: { id: text, cid: text, email: text, phone: text } }\n  - name: orders\n    config: { column_types: { order_no: text, email: text, phone: text } }\n',
      'models/identity/person.identity.yml': SPEC('local'),
      'models/person_summary.sql': 'select count(*) as profiles from {{ref "person_profiles"}}',
    });
  });
  afterAll(async () => {
    removeProject(dir);
    await target.teardown();
  });

  it('stitches records by normalised identifiers and applies every junk defence', async () => {
    const outcome = await runCommand({ command: 'build', projectDir: dir, out: quiet });
    expect(outcome.summary.results.filter((r) => r.status === 'error').map((r) => r.message)).toEqual([]);
    expect(outcome.exitCode).toBe(0);
    const identity = outcome.summary.results.find((r) => r.name === 'person_identity')!;
    expect(identity.details).toMatchObject({ engine: 'local', records: 17 });

    await withWarehouse(dir, async (wh) => {
      expect(await partition(wh)).toEqual([
        'contacts:c1 contacts:c2 orders:o1', // email case and whitespace, phone formats
        'contacts:c10', 'contacts:c11', 'contacts:c12', 'contacts:c13', 'contacts:c14',
        'contacts:c3 orders:o2', // phone 415.555.0202 = 4155550202
        'contacts:c4', 'contacts:c5', // test@test.com is blocklisted by default
        'contacts:c6', 'contacts:c7', // shared@kiosk.com is on the spec's blocklist
        'contacts:c8', 'contacts:c9', // a household email cannot join two customer ids (limit 1)
        'orders:o3',
      ]);
      const reasons = await wh.query<{ reason: string; id_value: string | null; n: number }>(
        'select reason, id_value, count(*) as n from analytics.person_rejected_edges group by reason, id_value order by reason, id_value');
      expect(reasons).toEqual([
        { reason: 'blocklist', id_value: 'shared@kiosk.com', n: 2 },
        { reason: 'blocklist', id_value: 'test@test.com', n: 2 },
        { reason: 'degree_cap', id_value: 'hub@x.com', n: 4 },
        { reason: 'invalid', id_value: null, n: 1 },
        { reason: 'limit', id_value: 'house@family.com', n: 2 },
      ]);
      expect(await wh.query("select source, record_key, id_type, column_name, raw_value, reason from analytics.person_rejected_edges where reason in ('invalid', 'limit') order by record_key")).toEqual([
        { source: 'contacts', record_key: 'c10', id_type: 'email', column_name: 'email', raw_value: 'not-an-email', reason: 'invalid' },
        { source: 'contacts', record_key: 'c8', id_type: 'email', column_name: 'email', raw_value: 'house@family.com', reason: 'limit' },
        { source: 'contacts', record_key: 'c9', id_type: 'email', column_name: 'email', raw_value: 'house@family.com', reason: 'limit' },
      ]);
      const ann = await wh.query<{ id_type: string; id_value: string; record_count: number }>(
        "select i.id_type, i.id_value, i.record_count from analytics.person_identifiers i join analytics.person_source_records s on s.profile_id = i.profile_id where s.record_key = 'c1' order by i.id_type");
      expect(ann).toEqual([
        { id_type: 'customer_id', id_value: 'A', record_count: 1 },
        { id_type: 'email', id_value: 'ann@acme.io', record_count: 3 },
        { id_type: 'phone', id_value: '+14155550101', record_count: 1 },
      ]);
      expect(await wh.query('select profiles from analytics.person_summary')).toEqual([{ profiles: 14 }]);
    });
  });

  it('publishes every accepted edge with its provenance, and explains and counts profiles from the outputs', async () => {
    const compiled = await compileProject({ projectDir: dir });
    const spec = (compiled.graph.nodes.get('model.person_identity')!.identity as IdentityNodeSpec).spec;
    await withWarehouse(dir, async (wh) => {
      const annEdges = "select e.source, e.record_key, e.id_type, e.id_value, e.column_name, e.rule from analytics.person_edges e\n" +
        "where e.profile_id = (select profile_id from analytics.person_source_records where source = 'contacts' and record_key = 'c1') order by 1, 2, 3";
      expect(await wh.query(annEdges)).toEqual([
        { source: 'contacts', record_key: 'c1', id_type: 'customer_id', id_value: 'A', column_name: 'cid', rule: 'exact:customer_id' },
        { source: 'contacts', record_key: 'c1', id_type: 'email', id_value: 'ann@acme.io', column_name: 'email', rule: 'exact:email' },
        { source: 'contacts', record_key: 'c1', id_type: 'phone', id_value: '+14155550101', column_name: 'phone', rule: 'exact:phone' },
        { source: 'contacts', record_key: 'c2', id_type: 'email', id_value: 'ann@acme.io', column_name: 'email', rule: 'exact:email' },
        { source: 'orders', record_key: 'o1', id_type: 'email', id_value: 'ann@acme.io', column_name: 'email', rule: 'exact:email' },
      ]);
      // Rejected edges are not edges: nothing blocklisted, capped or over a limit appears.
      expect(await wh.query("select count(*) as n from analytics.person_edges where id_value in ('test@test.com', 'shared@kiosk.com', 'hub@x.com', 'house@family.com')")).toEqual([{ n: 0 }]);
      // c1 and c3 three each, o1, o2, o3, c2 and c4-c14 one each (c8 keeps its customer_id only).
      expect(await wh.query('select count(*) as n from analytics.person_edges')).toEqual([{ n: 21 }]);

      const e = await explainIdentifier(wh, spec, 'analytics', 'email: ANN@Acme.io');
      expect(e.query).toEqual({ id_type: 'email', id_value: 'ann@acme.io' });
      expect(e.identifiers.map((i) => [i.id_type, i.id_value, Number(i.record_count)])).toEqual([['customer_id', 'A', 1], ['email', 'ann@acme.io', 3], ['phone', '+14155550101', 1]]);
      expect(e.sources.map((s) => [s.source, Number(s.records)])).toEqual([['contacts', 2], ['orders', 1]]);
      expect(e.paths).toEqual([
        { to: { id_type: 'customer_id', id_value: 'A' }, hops: [{ source: 'contacts', record_key: 'c1', to: { id_type: 'customer_id', id_value: 'A' } }] },
        { to: { id_type: 'phone', id_value: '+14155550101' }, hops: [{ source: 'contacts', record_key: 'c1', to: { id_type: 'phone', id_value: '+14155550101' } }] },
      ]);
      const house = await explainIdentifier(wh, spec, 'analytics', 'email:house@family.com');
      expect(house.profile_id).toBeNull();
      expect(house.rejected).toEqual([{ source: 'contacts', record_key: 'c8', reason: 'limit' }, { source: 'contacts', record_key: 'c9', reason: 'limit' }]);

      const stats = await identityStats(wh, spec, 'analytics');
      expect([stats.profiles, stats.records]).toEqual([14, 17]);
      expect(stats.size_distribution.map((d) => [d.bucket, Number(d.profiles)])).toEqual([['1', 12], ['2', 1], ['3-5', 1]]);
      expect(stats.rejected.map((r) => [r.reason, r.id_type, Number(r.edges)])).toEqual([['blocklist', 'email', 4], ['degree_cap', 'email', 4], ['invalid', 'email', 1], ['limit', 'email', 2]]);
    });
  });

  it('keeps profile IDs across runs, records merges (oldest survives) and splits with lineage', async () => {
    const ids = async () => withWarehouse(dir, async (wh) => Object.fromEntries(
      (await wh.query<{ record_key: string; profile_id: string }>('select record_key, profile_id from analytics.person_source_records')).map((r) => [r.record_key, r.profile_id])));
    const before = await ids();
    const again = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'] });
    expect(again.exitCode).toBe(0);
    // Nothing changed: no value is normalised again.
    expect(again.summary.results[0].details).toMatchObject({ normalised_values: 0, records: 17 });
    expect(await ids()).toEqual(before);

    // o4 carries Bob's phone and nobody@else.com: the profiles of c3 and o3 merge.
    writeFiles(dir, { 'seeds/orders.csv': `${ORDERS}o4,nobody@else.com,415-555-0202,2026-04-01 00:00:00\n` });
    expect((await runCommand({ command: 'build', projectDir: dir, out: quiet })).exitCode).toBe(0);
    const merged = await ids();
    expect(merged.o3).toBe(merged.c3);
    const survivor = merged.c3;
    expect([before.c3, before.o3]).toContain(survivor);
    await withWarehouse(dir, async (wh) => {
      const rows = await wh.query<{ old_profile_id: string; new_profile_id: string; reason: string }>("select old_profile_id, new_profile_id, reason from analytics.person_merges where reason = 'merge'");
      expect(rows).toEqual([{ old_profile_id: survivor === before.c3 ? before.o3 : before.c3, new_profile_id: survivor, reason: 'merge' }]);
    });

    // Remove the bridge: the larger part keeps the ID, the other gets a new one with lineage.
    writeFiles(dir, { 'seeds/orders.csv': ORDERS });
    expect((await runCommand({ command: 'build', projectDir: dir, out: quiet })).exitCode).toBe(0);
    const split = await ids();
    expect(split.c3).toBe(survivor);
    expect(split.o3).not.toBe(survivor);
    expect(Object.values(before)).not.toContain(split.o3);
    await withWarehouse(dir, async (wh) => {
      const rows = await wh.query("select old_profile_id, new_profile_id from analytics.person_merges where reason = 'split'");
      expect(rows).toEqual([{ old_profile_id: survivor, new_profile_id: split.o3 }]);
    });
  });

  it('normalises only values not seen before, with the partition of a full rebuild', async () => {
    // o5 brings a known email and a phone never seen: only the phone is normalised.
    writeFiles(dir, { 'seeds/orders.csv': `${ORDERS}o5,ann@acme.io,(415) 555-0199,2026-05-01 00:00:00\n` });
    const incremental = await runCommand({ command: 'build', projectDir: dir, out: quiet });
    expect(incremental.summary.results.find((r) => r.name === 'person_identity')!.details).toMatchObject({ normalised_values: 1, records: 18 });
    expect(await cachedValues(dir, "raw_value = '(415) 555-0199'")).toEqual([{ id_type: 'phone', raw_value: '(415) 555-0199', id_value: '+14155550199', reason: null }]);
    const partitionIncremental = await withWarehouse(dir, (wh) => partition(wh));
    const full = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'], fullRefresh: true });
    // A full refresh normalises every distinct value once: as many as the cache then holds.
    expect(full.summary.results[0].details).toMatchObject({ normalised_values: (await cachedValues(dir)).length });
    expect(await withWarehouse(dir, (wh) => partition(wh))).toEqual(partitionIncremental);
    expect(partitionIncremental).toContain('contacts:c1 contacts:c2 orders:o1 orders:o5');
  });

  it('drops the cached identifiers of records removed from a source', async () => {
    // c10 carries the only invalid email: once it is gone, so must be its rejected edge.
    writeFiles(dir, { 'seeds/contacts.csv': CONTACTS.replace(/^c10,.*\n/m, '') });
    const incremental = await runCommand({ command: 'build', projectDir: dir, out: quiet });
    expect(incremental.summary.results.find((r) => r.name === 'person_identity')!.details).toMatchObject({ normalised_values: 0, records: 17 });
    // Its value left the cache too: nothing of a removed record lingers in the state schema.
    expect(await cachedValues(dir, "raw_value = 'not-an-email'")).toEqual([]);
    const after = await withWarehouse(dir, async (wh) => ({
      partition: await partition(wh),
      invalid: await wh.query(`select record_key from analytics.person_rejected_edges where reason = 'invalid'`),
    }));
    expect(after.invalid).toEqual([]);
    expect(after.partition).not.toContain('contacts:c10');
    const full = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'], fullRefresh: true });
    expect(full.summary.results[0].details).toMatchObject({ normalised_values: (await cachedValues(dir)).length });
    expect(await withWarehouse(dir, (wh) => partition(wh))).toEqual(after.partition);
  });

  it('rebuilds the normalisation cache when blocklist_defaults changes', async () => {
    const spec = 'models/identity/person.identity.yml';
    const testEmail = () => withWarehouse(dir, async (wh) => (await wh.query<{ reason: string }>(
      "select distinct reason from analytics.person_rejected_edges where id_value = 'test@test.com'")).map((r) => r.reason));
    writeFiles(dir, { [spec]: SPEC('local').replace('engine: local\n', 'engine: local\nblocklist_defaults: false\n') });
    const off = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'] });
    expect(off.summary.results[0].details).toMatchObject({ normalised_values: (await cachedValues(dir)).length });
    // test@test.com is no longer blocked; c4 and c5 (customer ids C and D) now meet the limit.
    expect(await testEmail()).toEqual(['limit']);
    writeFiles(dir, { [spec]: SPEC('local') });
    const on = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'] });
    expect(on.summary.results[0].details).toMatchObject({ normalised_values: (await cachedValues(dir)).length });
    expect(await testEmail()).toEqual(['blocklist']);
  });

  it('gives the same partition with the sql engine', async () => {
    const local = await withWarehouse(dir, (wh) => partition(wh));
    writeFiles(dir, { 'models/identity/person.identity.yml': SPEC('sql') });
    const outcome = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'] });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.summary.results[0].details).toMatchObject({ engine: 'sql' });
    expect(await withWarehouse(dir, (wh) => partition(wh))).toEqual(local);
  });

  it.each(['local', 'sql'])('fails on a duplicate source key with the %s engine, leaving the outputs and no scratch table', async (engine) => {
    writeFiles(dir, { 'models/identity/person.identity.yml': SPEC(engine) });
    expect((await runCommand({ command: 'build', projectDir: dir, out: quiet })).exitCode).toBe(0);
    const before = await withWarehouse(dir, (wh) => partition(wh));
    writeFiles(dir, { 'seeds/contacts.csv': `${CONTACTS}c3,Z,zed@acme.io,,2026-01-20 00:00:00\n` });
    try {
      await runCommand({ command: 'seed', projectDir: dir, out: quiet });
      const outcome = await runCommand({ command: 'run', projectDir: dir, out: quiet, select: ['person_identity'] });
      expect(outcome.exitCode).toBe(1);
      expect(outcome.summary.results[0]).toMatchObject({ status: 'error' });
      expect(outcome.summary.results[0].message).toMatch(/identity source "contacts" has duplicate keys: c3 x2/);
      const left = await withWarehouse(dir, async (wh) => ({
        partition: await partition(wh),
        scratch: (await wh.relations('analytics')).map((r) => r.name).filter((n) => n.includes('__cdp_')),
      }));
      expect(left.partition).toEqual(before);
      expect(left.scratch).toEqual([]);
    } finally {
      writeFiles(dir, { 'seeds/contacts.csv': CONTACTS });
      await runCommand({ command: 'seed', projectDir: dir, out: quiet });
    }
  });
});

/** Adversarial graphs as integer edge lists. */
function chain(n: number, start = 1): [number, number][] {
  return Array.from({ length: n - 1 }, (_, i) => [start + i, start + i + 1]);
}
function star(center: number, leaves: number, start: number): [number, number][] {
  return Array.from({ length: leaves }, (_, i) => [center, start + i]);
}

async function loadEdges(wh: Warehouse, rel: Relation, edges: [number, number][]): Promise<void> {
  await wh.execute(wh.dialect.createSchema(rel.schema));
  await wh.execute(wh.dialect.drop(rel, 'table'));
  const cols = [{ name: 'a', type: 'bigint' as const }, { name: 'b', type: 'bigint' as const }];
  await wh.execute(wh.dialect.createTable(rel, cols));
  async function* rows() { yield edges; }
  await wh.bulkLoad(rel, cols, rows());
}

async function labels(wh: Warehouse, rel: Relation): Promise<Row[]> {
  return wh.query(`select node, comp from ${wh.dialect.relation(rel)} order by node`);
}

describe('component engines agree on adversarial graphs', () => {
  let pgDb = '';
  const graphs: Record<string, [number, number][]> = {
    'a long chain': chain(3000),
    'a star': star(1, 2000, 2),
    'a junk hub joining clusters': [...chain(50, 1), ...chain(50, 100), ...star(5000, 3, 1).map(([a]): [number, number] => [a, 5000]), [5000, 120], [5000, 149]],
    'a reversed chain with isolated pairs': [...chain(500, 1).map(([a, b]): [number, number] => [b, a]), [9001, 9002], [9003, 9004]],
    'a binary tree': Array.from({ length: 2046 }, (_, i): [number, number] => [Math.floor((i + 2) / 2), i + 2]),
  };
  beforeAll(async () => {
    pgDb = await createPgDatabase();
  });
  afterAll(async () => {
    await dropPgDatabase(pgDb);
  });

  it.each(Object.keys(graphs))('on DuckDB and PostgreSQL: %s', async (name) => {
    for (const settings of [{ type: 'duckdb', path: ':memory:' }, { type: 'postgres', ...PG, database: pgDb }] as TargetConfig[]) {
      const wh = await openWarehouse(settings);
      try {
        const edges = { schema: 'cc', name: 'edges' };
        await loadEdges(wh, edges, graphs[name]);
        const local = await localEngine.run(wh, edges, { schema: 'cc', name: 'local_out' });
        const sql = await sqlEngine().run(wh, edges, { schema: 'cc', name: 'sql_out' });
        const a = await labels(wh, { schema: 'cc', name: 'local_out' });
        expect(a.length).toBe(local.nodes);
        expect(await labels(wh, { schema: 'cc', name: 'sql_out' })).toEqual(a);
        // Every component is labelled by its smallest node.
        for (const row of a) expect(Number(row.comp)).toBeLessThanOrEqual(Number(row.node));
        // The pipeline's filter: labels of low-numbered nodes only, and only where not their own.
        const below = Math.max(...a.map((r) => Number(r.node))) >> 1;
        const kept = a.filter((r) => Number(r.node) < below && Number(r.comp) !== Number(r.node));
        await localEngine.run(wh, edges, { schema: 'cc', name: 'local_some' }, { below, changedOnly: true });
        await sqlEngine().run(wh, edges, { schema: 'cc', name: 'sql_some' }, { below, changedOnly: true });
        expect(await labels(wh, { schema: 'cc', name: 'local_some' })).toEqual(kept);
        expect(await labels(wh, { schema: 'cc', name: 'sql_some' })).toEqual(kept);
        if (name === 'a long chain') {
          expect(new Set(a.map((r) => r.comp))).toEqual(new Set([1]));
          expect(sql.rounds).toBeLessThanOrEqual(15);
        }
      } finally {
        await wh.close();
      }
    }
  });
});

describe('the columnar integer path on DuckDB', () => {
  it('streams and appends integer columns, and refuses a NULL', async () => {
    const wh = await openWarehouse({ type: 'duckdb', path: ':memory:' });
    try {
      expect(wh.streamInt32 && wh.appendInt32).toBeTruthy();
      await wh.execute('create table t (a bigint, b bigint)');
      async function* batches() {
        yield [Int32Array.from({ length: 5000 }, (_, i) => i), Int32Array.from({ length: 5000 }, (_, i) => -i)];
        yield [Int32Array.of(2 ** 31 - 1), Int32Array.of(7)];
      }
      expect(await wh.appendInt32!({ schema: 'main', name: 't' }, batches())).toBe(5001);
      let rows = 0;
      let sum = 0;
      for await (const [a, b] of wh.streamInt32!('select a, b from t')) {
        rows += a.length;
        for (let i = 0; i < a.length; i++) sum += a[i] + b[i];
      }
      expect(rows).toBe(5001);
      expect(sum).toBe(2 ** 31 - 1 + 7);
      const read = async () => {
        for await (const _ of wh.streamInt32!('select a, null as b from t')) void _;
      };
      await expect(read()).rejects.toThrow(/NULL/);
    } finally {
      await wh.close();
    }
  });
});

describe('the scratch database on DuckDB', () => {
  it('holds tables outside the file, seen by every pooled connection, with bulk and columnar loads', async () => {
    const dir = makeProject({});
    const wh = await openWarehouse({ type: 'duckdb', path: `${dir}/scratch.duckdb` });
    try {
      const catalog = await wh.scratchCatalog!();
      expect(await wh.scratchCatalog!()).toBe(catalog);
      const t: Relation = { catalog, schema: 'main', name: 'pairs' };
      await wh.execute(wh.dialect.createTable(t, [{ name: 'a', type: 'bigint' }, { name: 'b', type: 'bigint' }]));
      await wh.appendInt32!(t, (async function* () { yield [Int32Array.of(1, 2), Int32Array.of(3, 4)]; })());
      await wh.bulkLoad(t, [{ name: 'a', type: 'bigint' }, { name: 'b', type: 'bigint' }], (async function* () { yield [[5, 6]]; })());
      // Several statements at once run on several pooled connections; all see the table.
      const sums = await Promise.all([1, 2, 3, 4].map(() => wh.query<{ s: number }>(`select sum(a + b) as s from ${wh.dialect.relation(t)}`)));
      expect(sums.map((r) => Number(r[0].s))).toEqual([21, 21, 21, 21]);
      expect(await wh.columns(t)).toEqual([{ name: 'a', dataType: 'BIGINT' }, { name: 'b', dataType: 'BIGINT' }]);
      // Nothing of it is in the database file.
      expect(await wh.query(`select table_name from information_schema.tables where table_catalog = current_database() and table_name = 'pairs'`)).toEqual([]);
    } finally {
      await wh.close();
      removeProject(dir);
    }
  });
});
