/**
 * One conformance suite for every warehouse adapter, run against real engines and real client
 * libraries: DuckDB in memory and in a file, PostgreSQL in a fresh database per run, and
 * BigQuery (@google-cloud/bigquery) and Snowflake (snowflake-sdk) against the local protocol
 * endpoints in tests/protocol/ (HTTP on 127.0.0.1, DuckDB behind them). Every adapter must give
 * the same answers, so expectations are written once; SQL that differs between warehouses is
 * built from the dialect, or from portable forms (UNION ALL rows instead of VALUES lists, a
 * cross join of digits instead of generate_series).
 *
 * Cases that depend on a capability (transactional DDL) run where the dialect declares it. A
 * case one warehouse cannot pass is skipped there with its reason in `skips`; keep those few.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdpError } from '../src/errors.js';
import { buildTableAndSwap } from '../src/materializations/swap.js';
import { dialectFor, openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { ColumnSpec, DialectCapabilities, Relation, Warehouse } from '../src/warehouse/types.js';
import { startBigQueryServer } from './protocol/bigquery-server.js';
import { startSnowflakeServer } from './protocol/snowflake-server.js';
import { LOAD_COLUMNS, batchesOf, expectedRow } from './helpers/typed-rows.js';

// Local time must never leak into values, so run far from UTC. Adapters load lazily (through
// the registry), after these lines. No GCE metadata probing for the BigQuery client.
process.env.TZ = 'Asia/Kolkata';
process.env.METADATA_SERVER_DETECTION = 'none';

const PG = { host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), user: process.env.PGUSER ?? 'postgres' };
const SECRET = 'sekret-pw';

interface Opened {
  target: TargetConfig;
  /** A target that cannot be opened, and what the error must say. */
  bad: TargetConfig;
  badMessage: RegExp;
  tearDown(): Promise<void>;
}

interface Case {
  name: string;
  setUp(): Promise<Opened>;
  ping: RegExp;
  capabilities: DialectCapabilities;
  /** A TIMESTAMP WITH TIME ZONE from a text literal with an offset (no Dialect method builds one). */
  timestampTz(literal: string): string;
  /** Test name -> why it cannot pass on this warehouse. */
  skips?: Record<string, string>;
}

const ANSI_TZ = (literal: string) => `CAST(${literal} AS TIMESTAMP WITH TIME ZONE)`;
const FULL = { transactionalDdl: true, merge: true, enforcedPrimaryKeys: true };
const CLOUD = { transactionalDdl: false, merge: true, enforcedPrimaryKeys: false };

/**
 * A service-account key whose `universe_domain` is not googleapis.com, so google-auth-library
 * signs its own JWT instead of calling oauth2.googleapis.com.
 */
function serviceAccountKey(dir: string, project: string): { file: string; email: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `cdp-conformance@${project}.iam.gserviceaccount.com`;
  const file = join(dir, 'sa-key.json');
  writeFileSync(
    file,
    JSON.stringify({
      type: 'service_account',
      project_id: project,
      private_key_id: 'conformance-key',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: email,
      client_id: '1',
      token_uri: 'http://127.0.0.1:9/token',
      universe_domain: 'cdp.test',
    }),
  );
  return { file, email };
}

const cases: Case[] = [
  {
    name: 'duckdb :memory:',
    setUp: async () => ({
      target: { type: 'duckdb', path: ':memory:' },
      bad: { type: 'duckdb', path: '/dev/null/not-a-dir/x.duckdb' },
      badMessage: /Cannot open DuckDB database \/dev\/null\/not-a-dir\/x\.duckdb/,
      tearDown: async () => undefined,
    }),
    ping: /^DuckDB v?\d+\.\d+/,
    capabilities: FULL,
    timestampTz: ANSI_TZ,
  },
  {
    name: 'duckdb file',
    setUp: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cdp-wh-'));
      return {
        target: { type: 'duckdb', path: join(dir, 'nested', 'deeper', 'warehouse.duckdb'), threads: 2 },
        bad: { type: 'duckdb', path: '/dev/null/not-a-dir/x.duckdb' },
        badMessage: /Cannot open DuckDB database/,
        tearDown: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    ping: /^DuckDB v?\d+\.\d+/,
    capabilities: FULL,
    timestampTz: ANSI_TZ,
  },
  {
    name: 'postgres',
    setUp: async () => {
      const database = `cdp_test_${randomBytes(6).toString('hex')}`;
      const admin = await openWarehouse({ type: 'postgres', ...PG, database: 'postgres' });
      await admin.execute(`CREATE DATABASE "${database}"`);
      return {
        // A pool of two makes a leaked client show up as a hang within a few statements.
        target: { type: 'postgres', ...PG, database, poolMax: 2 },
        bad: { type: 'postgres', host: '127.0.0.1', port: 1, user: 'postgres', password: SECRET, database: 'cdp_nowhere' },
        badMessage: /Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/cdp_nowhere/,
        tearDown: async () => {
          await admin.execute(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
          await admin.close();
        },
      };
    },
    ping: /PostgreSQL v?\d+\.\d+/,
    capabilities: FULL,
    timestampTz: ANSI_TZ,
  },
  {
    name: 'bigquery (local endpoint)',
    setUp: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cdp-bq-conf-'));
      const project = 'conformance-project';
      const key = serviceAccountKey(dir, project);
      const isOurJwt = (token: string) => {
        const parts = token.split('.');
        return parts.length === 3 && JSON.parse(Buffer.from(parts[1], 'base64url').toString()).iss === key.email;
      };
      const server = await startBigQueryServer({ project, acceptToken: isOurJwt, location: 'US' });
      // The target's dataset must exist before cdp connects, as in BigQuery.
      await server.duck(`CREATE SCHEMA ${SCHEMA}`);
      const target: TargetConfig = { type: 'bigquery', project, dataset: SCHEMA, location: 'US', keyfile: key.file, api_endpoint: server.url };
      return {
        target,
        bad: { ...target, dataset: 'cdp_nowhere' },
        badMessage: /Dataset "conformance-project:cdp_nowhere" does not exist/,
        tearDown: async () => {
          await server.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    ping: /^BigQuery \(project conformance-project, location US\)$/,
    capabilities: CLOUD,
    timestampTz: (literal) => `TIMESTAMP ${literal}`,
    skips: {
      'reads its own writes inside a transaction and still rolls them back':
        'adapter design, not the endpoint: BigQuery transaction() buffers statements and sends them before a query, so a failure after a read cannot undo them (docs/warehouses/bigquery.md)',
    },
  },
  {
    name: 'snowflake (local endpoint)',
    setUp: async () => {
      const server = await startSnowflakeServer({ account: 'test', users: { u: { password: 'pw-ok' } }, databases: ['DB'], warehouses: ['WH'] });
      const target: TargetConfig = { type: 'snowflake', account: 'test', user: 'u', password: 'pw-ok', database: 'DB', warehouse: 'WH', schema: SCHEMA, access_url: server.url };
      return {
        target,
        bad: { ...target, password: SECRET },
        badMessage: /Cannot connect to Snowflake account "test" at http:\/\/127\.0\.0\.1:\d+ as user "u": Incorrect username or password/,
        tearDown: () => server.close(),
      };
    },
    ping: /^Snowflake \d+\.\d+/,
    capabilities: CLOUD,
    timestampTz: (literal) => `CAST(${literal} AS TIMESTAMP_TZ)`,
  },
];

const SCHEMA = 'conformance';
const rel = (name: string): Relation => ({ schema: SCHEMA, name });

/** Rows as a derived table `v` with one column: UNION ALL of SELECTs, which every warehouse accepts (BigQuery has no VALUES list). */
const rowsOf = (values: string[], column = 'x') => `(${values.map((v) => `SELECT ${v} AS ${column}`).join(' UNION ALL ')}) AS v`;

/** 1..25000 above `$1`, from a cross join of digits: no generate_series, GENERATE_ARRAY or GENERATOR needed. */
const SERIES = `WITH digits AS (${Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS d`).join(' UNION ALL ')})
SELECT i FROM (
  SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1 AS i
  FROM digits AS a CROSS JOIN digits AS b CROSS JOIN digits AS c CROSS JOIN digits AS e CROSS JOIN digits AS f
) AS s WHERE i <= 25000 AND i > $1 ORDER BY i`;

describe.each(cases)('warehouse conformance: $name', (c) => {
  let wh: Warehouse;
  let opened: Opened | undefined;

  beforeAll(async () => {
    opened = await c.setUp();
    wh = await openWarehouse(opened.target);
    await wh.execute(wh.dialect.createSchema(SCHEMA));
  }, 60_000);

  afterAll(async () => {
    await wh?.close();
    await opened?.tearDown();
  }, 60_000);

  const table = (name: string) => wh.dialect.relation(rel(name));
  /** A case every warehouse must pass, unless `skips` names it for this one. */
  const test = (name: string, fn: () => Promise<void>, timeout?: number) => {
    const reason = c.skips?.[name];
    if (reason) it.skip(`${name} [skipped on ${c.name}: ${reason}]`, fn);
    else it(name, fn, timeout);
  };

  test('opens, pings and matches the registry dialect', async () => {
    // The zone override above is what makes the timestamp assertions meaningful.
    expect(new Date(0).getTimezoneOffset()).toBe(-330);
    expect(await wh.ping()).toMatch(c.ping);
    const target = opened!.target;
    if (target.type === 'duckdb' && target.path !== ':memory:') expect(existsSync(target.path)).toBe(true);
    const dialect = await dialectFor(target.type);
    expect(dialect.name).toBe(wh.dialect.name);
    expect(wh.dialect.capabilities).toMatchObject(c.capabilities);
    await expect(dialectFor('no_such_warehouse')).rejects.toThrow(/Unknown warehouse type "no_such_warehouse"/);
    await expect(openWarehouse({ type: 'snowflake' })).rejects.toBeInstanceOf(CdpError);
  });

  test('turns a failed connection into a CdpError naming where it tried', async () => {
    const err = await openWarehouse(opened!.bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CdpError);
    const cdp = err as CdpError;
    expect(cdp.message).toMatch(opened!.badMessage);
    expect(cdp.hint).toBeTruthy();
    expect(`${cdp.message} ${cdp.hint}`).not.toContain(SECRET);
  }, 30_000);

  test('normalises scalar result values', async () => {
    const d = wh.dialect;
    const [row] = await wh.query(`SELECT
      ${d.cast('42', 'integer')} AS i,
      ${d.cast('123456789012', 'bigint')} AS b,
      ${d.cast("'9007199254740993'", 'bigint')} AS huge,
      ${d.cast("'1.25'", 'decimal')} AS dec,
      ${d.cast('0.5', 'double')} AS dbl,
      ${d.cast("'2024-02-29'", 'date')} AS d,
      ${d.cast("'2024-01-02 03:04:05.678'", 'timestamp')} AS ts,
      ${c.timestampTz("'2024-01-02 03:04:05.678+02:00'")} AS tstz,
      true AS t,
      ${d.quoteString('héllo')} AS s,
      ${d.cast('NULL', 'integer')} AS n,
      ${d.cast(`'{"a": [1, 2]}'`, 'json')} AS j`);
    expect(row).toStrictEqual({
      i: 42,
      b: 123456789012,
      huge: 9007199254740993n,
      dec: 1.25,
      dbl: 0.5,
      d: '2024-02-29',
      ts: new Date('2024-01-02T03:04:05.678Z'),
      tstz: new Date('2024-01-02T01:04:05.678Z'),
      t: true,
      s: 'héllo',
      n: null,
      j: { a: [1, 2] },
    });
  });

  test('normalises aggregates: count, sums of ints (also beyond 2^53), averages', async () => {
    const d = wh.dialect;
    const [agg] = await wh.query(`SELECT count(*) AS c, sum(x) AS s, sum(${d.cast('x', 'bigint')}) AS sb, avg(x) AS a, min(x) AS mn FROM ${rowsOf(['1', '2', '3'])}`);
    expect(agg).toStrictEqual({ c: 3, s: 6, sb: 6, a: 2, mn: 1 });
    const max = d.cast('9007199254740991', 'bigint');
    const [big] = await wh.query(`SELECT sum(x) AS s FROM ${rowsOf([max, max])}`);
    expect(big).toStrictEqual({ s: 18014398509481982n });
  });

  test('binds $n parameters of every JS type', async () => {
    const d = wh.dialect;
    const [row] = await wh.query(
      `SELECT $1 + 1 AS n, $2 AS s, ${d.cast('$3', 'timestamp')} AS ts, ${d.cast('$4', 'bigint')} AS big, $5 = 'x' AS eq, ${d.cast('$6', 'boolean')} AS flag`,
      [41, 'hi', new Date('2024-05-06T07:08:09.010Z'), 9007199254740993n, null, true],
    );
    expect(row).toStrictEqual({ n: 42, s: 'hi', ts: new Date('2024-05-06T07:08:09.010Z'), big: 9007199254740993n, eq: null, flag: true });

    await wh.execute(d.createTable(rel('params'), [{ name: 'id', type: 'integer' }, { name: 'label', type: 'text' }]));
    await wh.execute(`INSERT INTO ${table('params')} VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, "it's two"]);
    expect(await wh.query(`SELECT label FROM ${table('params')} WHERE id = $1`, [2])).toEqual([{ label: "it's two" }]);
  });

  test('runs statements concurrently', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => wh.query<{ i: number }>(`SELECT ${i} AS i`)));
    expect(results.map((r) => r[0].i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('streams rows in bounded batches', async () => {
    const sizes: number[] = [];
    let sum = 0;
    for await (const batch of wh.stream<{ i: number }>(SERIES, [0], 4000)) {
      sizes.push(batch.length);
      for (const r of batch) sum += r.i;
    }
    expect(sizes).toEqual([4000, 4000, 4000, 4000, 4000, 4000, 1000]);
    expect(sum).toBe((25000 * 25001) / 2);

    const defaultSizes: number[] = [];
    for await (const batch of wh.stream(SERIES, [0])) defaultSizes.push(batch.length);
    expect(defaultSizes.length).toBeGreaterThan(1);
    expect(Math.max(...defaultSizes)).toBeLessThanOrEqual(10_000);
    expect(defaultSizes.reduce((a, b) => a + b, 0)).toBe(25000);
  }, 30_000);

  test('releases the session when a stream ends early or fails', async () => {
    // More early exits than any pool has connections: a leak would make the query below hang.
    for (let n = 0; n < 6; n++) {
      for await (const batch of wh.stream<{ i: number }>(SERIES, [0], 1000)) {
        expect(batch[0]).toEqual({ i: 1 });
        break;
      }
    }
    for (let n = 0; n < 3; n++) {
      const failing = async () => {
        for await (const _batch of wh.stream(`SELECT * FROM ${table('no_such_table_anywhere')}`)) void _batch;
      };
      await expect(failing()).rejects.toThrow();
    }
    expect(await wh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  }, 30_000);

  test('bulk loads 50k typed rows', async () => {
    await wh.execute(wh.dialect.createTable(rel('loaded'), LOAD_COLUMNS));
    const loaded = await wh.bulkLoad(rel('loaded'), LOAD_COLUMNS, batchesOf(50_000, 5000));
    expect(loaded).toBe(50_000);

    const [stats] = await wh.query(`SELECT count(*) AS c, sum(id) AS s, count(name) AS names, count(meta) AS metas,
      sum(CASE WHEN active THEN 1 ELSE 0 END) AS actives FROM ${table('loaded')}`);
    expect(stats).toStrictEqual({ c: 50_000, s: (50_000 * 50_001) / 2, names: 50_000 - 7142, metas: 40_000, actives: 16_666 });

    const ids = [1, 2, 3, 4, 5, 6, 7, 49_999, 50_000];
    const rows = await wh.query(`SELECT * FROM ${table('loaded')} WHERE id IN (${ids.join(', ')}) ORDER BY id`);
    expect(rows).toStrictEqual(ids.map(expectedRow));
  }, 60_000);

  test('bulk loads a few rows the same way', async () => {
    await wh.execute(wh.dialect.createTable(rel('loaded_few'), LOAD_COLUMNS));
    expect(await wh.bulkLoad(rel('loaded_few'), LOAD_COLUMNS, batchesOf(7, 3))).toBe(7);
    expect(await wh.query(`SELECT * FROM ${table('loaded_few')} ORDER BY id`)).toStrictEqual([1, 2, 3, 4, 5, 6, 7].map(expectedRow));
  });

  test('bulk loads nothing when a value does not fit its column', async () => {
    const cols: ColumnSpec[] = [{ name: 'a', type: 'integer' }, { name: 'b', type: 'text' }];
    await wh.execute(wh.dialect.createTable(rel('load_bad'), cols));
    async function* rows(): AsyncIterable<unknown[][]> {
      yield [[1, 'ok'], [2, 'ok']];
      yield [['not a number', 'bad']];
    }
    await expect(wh.bulkLoad(rel('load_bad'), cols, rows())).rejects.toThrow(/Cannot load "not a number" into column "a" \(integer\).*row 3/);
    expect(await wh.query(`SELECT count(*) AS c FROM ${table('load_bad')}`)).toEqual([{ c: 0 }]);
    // Columns may come in any order and leave table columns out.
    expect(await wh.bulkLoad(rel('load_bad'), [{ name: 'b', type: 'text' }], batchesOfValues([['only b']]))).toBe(1);
    expect(await wh.query(`SELECT a, b FROM ${table('load_bad')}`)).toEqual([{ a: null, b: 'only b' }]);
  });

  test('rolls DML back when the callback throws and commits it when it returns', async () => {
    const d = wh.dialect;
    await wh.execute(d.createTable(rel('tx_rows'), [{ name: 'a', type: 'integer' }]));
    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${table('tx_rows')} VALUES ($1)`, [1]);
        await tx.execute(`INSERT INTO ${table('tx_rows')} VALUES ($1)`, [2]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await wh.query(`SELECT count(*) AS c FROM ${table('tx_rows')}`)).toEqual([{ c: 0 }]);

    const out = await wh.transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${table('tx_rows')} VALUES ($1)`, [7]);
      await tx.execute(`UPDATE ${table('tx_rows')} SET a = a + $1 WHERE a = 7`, [1]);
      return 'done';
    });
    expect(out).toBe('done');
    expect(await wh.query(`SELECT a FROM ${table('tx_rows')}`)).toEqual([{ a: 8 }]);
  });

  test('reads its own writes inside a transaction and still rolls them back', async () => {
    const d = wh.dialect;
    await wh.execute(d.createTable(rel('tx_read'), [{ name: 'a', type: 'integer' }]));
    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${table('tx_read')} VALUES ($1)`, [1]);
        expect(await tx.query(`SELECT a FROM ${table('tx_read')}`)).toEqual([{ a: 1 }]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await wh.query(`SELECT count(*) AS c FROM ${table('tx_read')}`)).toEqual([{ c: 0 }]);
  });

  const transactionalDdl = c.capabilities.transactionalDdl;

  it.runIf(transactionalDdl)('rolls DDL back with the transaction (transactional DDL only)', async () => {
    const d = wh.dialect;
    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(d.createTable(rel('tx_rolled'), [{ name: 'a', type: 'integer' }]));
        await tx.execute(`INSERT INTO ${table('tx_rolled')} VALUES ($1)`, [1]);
        expect(await tx.query(`SELECT a FROM ${table('tx_rolled')}`)).toEqual([{ a: 1 }]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await wh.relations(SCHEMA)).map((r) => r.name)).not.toContain('tx_rolled');

    await wh.transaction(async (tx) => {
      await tx.execute(d.createTable(rel('tx_kept'), [{ name: 'a', type: 'integer' }]));
      await tx.execute(`INSERT INTO ${table('tx_kept')} VALUES ($1)`, [7]);
    });
    expect(await wh.query(`SELECT a FROM ${table('tx_kept')}`)).toEqual([{ a: 7 }]);
  });

  test('lists relations and columns', async () => {
    const d = wh.dialect;
    await wh.execute(
      d.createTable(rel('rel_table'), [
        { name: 'id', type: 'bigint' },
        { name: 'we"ird', type: 'text' },
        { name: 'created', type: 'timestamp' },
      ]),
    );
    await wh.execute(`INSERT INTO ${table('rel_table')} (${d.quoteIdent('id')}, ${d.quoteIdent('we"ird')}) VALUES (1, ${d.quoteString("o'k")})`);
    await wh.execute(d.createView(rel('rel_view'), `SELECT id FROM ${table('rel_table')};`));
    const listed = (await wh.relations(SCHEMA)).filter((r) => r.name.startsWith('rel_'));
    expect(listed).toEqual([
      { schema: SCHEMA, name: 'rel_table', kind: 'table' },
      { schema: SCHEMA, name: 'rel_view', kind: 'view' },
    ]);
    const cols = await wh.columns(rel('rel_table'));
    expect(cols.map((col) => col.name)).toEqual(['id', 'we"ird', 'created']);
    expect(cols.every((col) => col.dataType.length > 0)).toBe(true);
    expect(await wh.query(`SELECT ${d.quoteIdent('we"ird')} AS w FROM ${table('rel_view')} JOIN ${table('rel_table')} USING (id)`)).toEqual([{ w: "o'k" }]);

    // A view whose columns change is replaced by drop + create (CREATE VIEW never replaces).
    await expect(wh.execute(d.createView(rel('rel_view'), `SELECT id, created FROM ${table('rel_table')}`))).rejects.toThrow();
    await wh.execute(d.drop(rel('rel_view'), 'view'));
    await wh.execute(d.createView(rel('rel_view'), `SELECT id, created FROM ${table('rel_table')}`));
    expect((await wh.columns(rel('rel_view'))).map((col) => col.name)).toEqual(['id', 'created']);

    expect(await wh.relations('no_such_schema')).toEqual([]);
    expect(await wh.columns(rel('no_such_table'))).toEqual([]);
    await wh.execute(d.drop(rel('no_such_table'), 'table'));
  });

  test('merges NULL-safely on a composite key', async () => {
    const d = wh.dialect;
    const cols: ColumnSpec[] = [{ name: 'k1', type: 'integer' }, { name: 'k2', type: 'text' }, { name: 'v', type: 'text' }];
    for (const name of ['m_target', 'm_source']) await wh.execute(d.createTable(rel(name), cols));
    await wh.execute(`INSERT INTO ${table('m_target')} VALUES (1, NULL, 'a'), (NULL, NULL, 'b'), (2, 'x', 'c')`);
    await wh.execute(`INSERT INTO ${table('m_source')} VALUES (1, NULL, 'A'), (NULL, NULL, 'B'), (3, NULL, 'D')`);
    const merge = d.mergeInto(rel('m_target'), rel('m_source'), ['k1', 'k2'], ['k1', 'k2', 'v']);
    for (let run = 0; run < 2; run++) {
      await wh.transaction(async (tx) => {
        for (const sql of merge) await tx.execute(sql);
      });
    }
    expect(await wh.query(`SELECT k1, k2, v FROM ${table('m_target')} ORDER BY k1 NULLS LAST, k2 NULLS LAST`)).toEqual([
      { k1: 1, k2: null, v: 'A' },
      { k1: 2, k2: 'x', v: 'c' },
      { k1: 3, k2: null, v: 'D' },
      { k1: null, k2: null, v: 'B' },
    ]);

    // Keys only: matched rows are left alone, new keys are inserted.
    await wh.execute(`INSERT INTO ${table('m_source')} VALUES (4, 'y', 'E')`);
    for (const sql of d.mergeInto(rel('m_target'), rel('m_source'), ['k1', 'k2'], [])) await wh.execute(sql);
    expect(await wh.query(`SELECT count(*) AS c, count(v) AS with_v FROM ${table('m_target')}`)).toEqual([{ c: 5, with_v: 4 }]);
  });

  test('replaces a table through the core swap, leaving no staging table', async () => {
    const d = wh.dialect;
    expect(await buildTableAndSwap(wh, rel('replaced'), 'SELECT 1 AS v')).toBe(1);
    await wh.execute(d.createView(rel('replaced_view'), `SELECT v FROM ${table('replaced')}`));
    expect(await buildTableAndSwap(wh, rel('replaced'), 'SELECT 2 AS v UNION ALL SELECT 3 AS v')).toBe(2);
    expect(await wh.query(`SELECT v FROM ${table('replaced')} ORDER BY v`)).toEqual([{ v: 2 }, { v: 3 }]);
    expect((await wh.relations(SCHEMA)).map((r) => r.name).filter((n) => n.startsWith('replaced'))).toEqual(['replaced', 'replaced_view']);
  });

  it.runIf(transactionalDdl)('swaps relations atomically with renames in a transaction (transactional DDL only)', async () => {
    const d = wh.dialect;
    const create = async (name: string, v: number) => {
      await wh.execute(d.createTableAs(rel(name), `SELECT ${v} AS v`));
    };
    const swap = (fail: boolean) =>
      wh.transaction(async (tx) => {
        await tx.execute(d.rename(rel('swap'), 'table', 'swap__old'));
        await tx.execute(d.rename(rel('swap__new'), 'table', 'swap'));
        if (fail) throw new Error('interrupted');
        await tx.execute(d.drop(rel('swap__old'), 'table'));
      });
    const swapNames = async () => (await wh.relations(SCHEMA)).map((r) => r.name).filter((n) => n.startsWith('swap'));

    await create('swap', 1);
    await create('swap__new', 2);
    await swap(false);
    expect(await wh.query(`SELECT v FROM ${table('swap')}`)).toEqual([{ v: 2 }]);
    expect(await swapNames()).toEqual(['swap']);

    await create('swap__new', 3);
    await expect(swap(true)).rejects.toThrow('interrupted');
    expect(await wh.query(`SELECT v FROM ${table('swap')}`)).toEqual([{ v: 2 }]);
    expect(await swapNames()).toEqual(['swap', 'swap__new']);

    await wh.execute(d.createView(rel('swap_view'), `SELECT v FROM ${table('swap')}`));
    await wh.execute(d.rename(rel('swap_view'), 'view', 'swap_view2'));
    expect((await wh.relations(SCHEMA)).find((r) => r.name === 'swap_view2')?.kind).toBe('view');
  });

  test('hashes text with sha256 as lowercase hex of its UTF-8 bytes', async () => {
    const d = wh.dialect;
    const [row] = await wh.query(`SELECT ${d.sha256("'abc'")} AS abc, ${d.sha256('$1')} AS param`, ['héllo wörld']);
    expect(row.abc).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(row.param).toBe(createHash('sha256').update('héllo wörld', 'utf8').digest('hex'));
  });

  test('aggregates distinct non-null values into normalised arrays', async () => {
    const d = wh.dialect;
    const [text] = await wh.query(`SELECT ${d.arrayAgg('x', 'x')} AS a FROM ${rowsOf(["'b'", "'a'", 'NULL', "'b'"])}`);
    expect(text).toEqual({ a: ['a', 'b'] });
    const big = (n: string) => d.cast(n, 'bigint');
    const [ints] = await wh.query(`SELECT ${d.arrayAgg('x', 'x DESC')} AS a FROM ${rowsOf([big('3'), big('1'), big('3'), big('NULL')])}`);
    expect(ints).toStrictEqual({ a: [3, 1] });
    const [dates] = await wh.query(`SELECT ${d.arrayAgg(d.cast('x', 'date'), d.cast('x', 'date'))} AS a FROM ${rowsOf(["'2024-02-01'", "'2023-12-31'"])}`);
    expect(dates).toStrictEqual({ a: ['2023-12-31', '2024-02-01'] });
    const [unordered] = await wh.query(`SELECT ${d.arrayAgg('x')} AS a FROM ${rowsOf(['2', '1', '2'])}`);
    expect([...(unordered.a as number[])].sort()).toEqual([1, 2]);
    // No value at all: NULL, or an empty array on BigQuery, which has no NULL arrays in results.
    const [none] = await wh.query(`SELECT ${d.arrayAgg('x', 'x')} AS a FROM ${rowsOf([d.cast('NULL', 'text'), d.cast('NULL', 'text')])}`);
    expect(none).toEqual({ a: d.name === 'bigquery' ? [] : null });
  });

  test('reports the current time in UTC', async () => {
    const [row] = await wh.query(`SELECT ${wh.dialect.currentTimestamp()} AS now`);
    expect(row.now).toBeInstanceOf(Date);
    expect(Math.abs((row.now as Date).getTime() - Date.now())).toBeLessThan(60_000);
  });
});

async function* batchesOfValues(rows: unknown[][]): AsyncIterable<unknown[][]> {
  yield rows;
}
