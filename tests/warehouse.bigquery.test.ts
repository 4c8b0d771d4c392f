/**
 * The BigQuery adapter with the real @google-cloud/bigquery client against the local REST
 * endpoint of tests/protocol/bigquery-server.ts (DuckDB underneath). Nothing leaves 127.0.0.1:
 * auth is an injected OAuth2Client with a fixed token, or a generated service-account key
 * whose self-signed JWT needs no token exchange.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigQueryWarehouse, sanitiseLabels } from '../adapters/warehouse/bigquery/connection.js';
import { BigQueryDialect } from '../adapters/warehouse/bigquery/dialect.js';
import { BigQueryQueryError } from '../adapters/warehouse/bigquery/errors.js';
import { toPositional } from '../adapters/warehouse/bigquery/params.js';
import { CdpError } from '../src/errors.js';
import { runCommand } from '../src/runner/run.js';
import { dialectFor, openWarehouse } from '../src/warehouse/registry.js';
import type { ColumnSpec, Relation } from '../src/warehouse/types.js';
import { makeProject, removeProject } from './helpers/project.js';
import { startBigQueryServer, type BigQueryTestServer } from './protocol/bigquery-server.js';
import { LOAD_COLUMNS, batchesOf, expectedRow } from './helpers/typed-rows.js';

// No GCE metadata probing, and local time far from UTC so zone leaks show.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.TZ = 'Asia/Kolkata';

const PROJECT = 'test-project';
const TOKEN = 'fake-token-value';
const DATASET = 'analytics';
const rel = (name: string): Relation => ({ schema: DATASET, name });
const d = new BigQueryDialect();
const t = (name: string) => d.relation(rel(name));

function authClient(token = TOKEN): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3600e3 });
  return client;
}

/**
 * A service-account key for the test: `universe_domain` outside googleapis.com makes
 * google-auth-library sign its own JWT instead of calling oauth2.googleapis.com.
 */
function writeServiceAccountKey(dir: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(dir, 'sa-key.json');
  writeFileSync(
    file,
    JSON.stringify({
      type: 'service_account',
      project_id: PROJECT,
      private_key_id: 'test-key-1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: 'cdp-test@test-project.iam.gserviceaccount.com',
      client_id: '1',
      token_uri: 'http://127.0.0.1:9/token',
      universe_domain: 'cdp.test',
    }),
  );
  return file;
}

const isJwt = (token: string) => token.split('.').length === 3 && JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).iss === 'cdp-test@test-project.iam.gserviceaccount.com';

let server: BigQueryTestServer;
let wh: BigQueryWarehouse;
let keyDir: string;
let keyfile: string;

beforeAll(async () => {
  server = await startBigQueryServer({ project: PROJECT, acceptToken: (tok) => tok === TOKEN || isJwt(tok), deniedDatasets: ['secret_stuff'], location: 'US' });
  await server.duck(`CREATE SCHEMA ${DATASET}`);
  await server.duck(`CREATE SCHEMA secret_stuff`);
  keyDir = mkdtempSync(join(tmpdir(), 'cdp-bq-key-'));
  keyfile = writeServiceAccountKey(keyDir);
  wh = await BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, location: 'US', apiEndpoint: server.url, authClient: authClient(), maximumBytesBilled: 10_000_000 });
}, 30_000);

afterAll(async () => {
  await wh?.close();
  await server?.close();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

describe('BigQuery dialect', () => {
  it('generates BigQuery Standard SQL', async () => {
    expect((await dialectFor('bigquery')).name).toBe('bigquery');
    expect(d.capabilities).toEqual({ transactionalDdl: false, merge: true, enforcedPrimaryKeys: false });
    expect(d.relation({ schema: 'analytics', name: 'users' })).toBe('`analytics.users`');
    expect(d.relation({ schema: 'analytics', name: 'we`ird name' })).toBe('`analytics`.`we\\`ird name`');
    expect(d.quoteString("it's a \\ test\n")).toBe("'it\\'s a \\\\ test\\n'");
    expect(d.typeName('bigint')).toBe('INT64');
    expect(d.typeName('decimal')).toBe('NUMERIC');
    expect(d.createTable(rel('x'), [{ name: 'id', type: 'bigint' }, { name: 'ok', type: 'boolean' }])).toBe('CREATE TABLE `analytics.x` (`id` INT64, `ok` BOOL)');
    expect(d.createTableAs(rel('x'), 'select 1 as a;\n')).toBe('CREATE TABLE `analytics.x` AS\nselect 1 as a\n');
    expect(d.rename(rel('x'), 'table', 'y')).toBe('ALTER TABLE `analytics.x` RENAME TO `y`');
    expect(d.currentTimestamp()).toBe('CURRENT_TIMESTAMP()');
    expect(d.sha256('email')).toBe('TO_HEX(SHA256(email))');
    expect(d.cast("'{}'", 'json')).toBe("PARSE_JSON('{}')");
    expect(d.arrayAgg('x', 'x DESC')).toBe('ARRAY_AGG(DISTINCT x IGNORE NULLS ORDER BY x DESC)');
    expect(d.regexpMatches('s', "r'^a'")).toBe("REGEXP_CONTAINS(s, r'^a')");
    expect(d.newUuid()).toBe('GENERATE_UUID()');
    expect(d.timestampMinus('ts', 30, 'day')).toBe('TIMESTAMP_SUB(ts, INTERVAL 30 DAY)');
    expect(d.timestampMinus('ts', 2, 'week')).toBe('TIMESTAMP_SUB(ts, INTERVAL 14 DAY)');
    expect(d.timestampMinus('ts', 3, 'month')).toBe('TIMESTAMP(DATETIME_SUB(DATETIME(ts), INTERVAL 3 MONTH))');
    expect(() => d.timestampMinus('ts', 1.5, 'day')).toThrow();
    expect(d.jsonObject([['a b', 'x'], ['c', '1']])).toBe('TO_JSON_STRING(STRUCT(x AS `a b`, 1 AS `c`))');
    const [merge] = d.mergeInto(rel('t'), rel('s'), ['k'], ['k', 'v']);
    expect(merge).toContain('MERGE `analytics.t` AS dst');
    expect(merge).toContain('ON (dst.`k` IS NOT DISTINCT FROM src.`k`)');
    expect(merge).toContain('WHEN MATCHED THEN UPDATE SET `v` = src.`v`');
    expect(d.mergeInto(rel('t'), rel('s'), ['k'], [])[0]).not.toContain('WHEN MATCHED');
  });

  it('rewrites $n parameters to positional ? outside literals, identifiers and comments', () => {
    const q = toPositional("SELECT $2, '$1', `$1`, \"it\\'s $1\" -- $1\n, $1 + $2 # $3\n /* $9 */", ['a', 7]);
    expect(q.sql).toBe("SELECT ?, '$1', `$1`, \"it\\'s $1\" -- $1\n, ? + ? # $3\n /* $9 */");
    expect(q.parameters.map((p) => p.parameterType.type)).toEqual(['INT64', 'STRING', 'INT64']);
    expect(toPositional('SELECT $1', [null]).parameters[0]).toEqual({ parameterType: { type: 'STRING' }, parameterValue: {} });
    expect(toPositional('SELECT $1', [[1n, 2n]]).parameters[0]).toEqual({ parameterType: { type: 'ARRAY', arrayType: { type: 'INT64' } }, parameterValue: { arrayValues: [{ value: '1' }, { value: '2' }] } });
    expect(() => toPositional('SELECT $2', [1])).toThrow(/\$2/);
    expect(sanitiseLabels({ 'cdp Model': 'Marts.People Summary', '1x': 'y' })).toEqual({ cdp_model: 'marts_people_summary', l_1x: 'y' });
  });
});

describe('BigQuery adapter against the local endpoint', () => {
  it('connects, pings and checks the dataset; labels and the bytes cap travel with each job', async () => {
    expect(await wh.ping()).toBe('BigQuery (project test-project, location US)');
    await wh.withLabels({ cdp_model: 'Stg People' }).query('SELECT 1 AS one');
    const job = server.jobs.at(-1)!;
    expect(job.labels).toEqual({ tool: 'composable-cdp', cdp_model: 'stg_people' });
    expect(job.maximumBytesBilled).toBe('10000000');
    expect(job.location).toBe('US');
    expect(wh.jobLabels).toEqual({ tool: 'composable-cdp' });
  });

  it('normalises result values', async () => {
    const [row] = await wh.query(`SELECT
      CAST(42 AS INT64) AS i,
      CAST('9007199254740993' AS INT64) AS huge,
      CAST('1.25' AS NUMERIC) AS dec,
      CAST(0.5 AS FLOAT64) AS dbl,
      CAST('2024-02-29' AS DATE) AS d,
      CAST('2024-01-02 03:04:05.678' AS TIMESTAMP) AS ts,
      TIMESTAMP '2024-01-02 03:04:05.678+02:00' AS tstz,
      TRUE AS t,
      'héllo' AS s,
      CAST(NULL AS INT64) AS n,
      PARSE_JSON('{"a": [1, 2]}') AS j,
      [1, 2, 3] AS arr,
      STRUCT(1 AS x, 'y' AS y) AS rec`);
    expect(row).toStrictEqual({
      i: 42,
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
      arr: [1, 2, 3],
      rec: { x: 1, y: 'y' },
    });
    const [agg] = await wh.query(`SELECT count(*) AS c, sum(x) AS s, avg(x) AS a FROM UNNEST([1, 2, 3]) AS x`);
    expect(agg).toStrictEqual({ c: 3, s: 6, a: 2 });
  });

  it('binds $n parameters of every JS type', async () => {
    const [row] = await wh.query(`SELECT $1 + 1 AS n, $2 AS s, $3 AS ts, $4 AS big, $5 = 'x' AS eq, $6 AS flag, $1 * 2 AS again, '$1' AS literal, $7 AS list`, [
      41,
      "it's",
      new Date('2024-05-06T07:08:09.010Z'),
      9007199254740993n,
      null,
      true,
      ['a', 'b'],
    ]);
    expect(row).toStrictEqual({ n: 42, s: "it's", ts: new Date('2024-05-06T07:08:09.010Z'), big: 9007199254740993n, eq: null, flag: true, again: 82, literal: '$1', list: ['a', 'b'] });
    expect(server.jobs.at(-1)!.parameterMode).toBe('POSITIONAL');
    await wh.execute(d.createTable(rel('params'), [{ name: 'id', type: 'integer' }, { name: 'label', type: 'text' }]));
    await wh.execute(`INSERT INTO ${t('params')} VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, "it's two"]);
    expect(await wh.query(`SELECT label FROM ${t('params')} WHERE id = $1`, [2])).toEqual([{ label: "it's two" }]);
  });

  it('reads results page by page', async () => {
    const small = await BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, apiEndpoint: server.url, authClient: authClient(), pageSize: 7 });
    const before = server.requests.length;
    const rows = await small.query<{ x: number }>('SELECT x FROM UNNEST(GENERATE_ARRAY(1, 25)) AS x ORDER BY x');
    expect(rows.map((r) => r.x)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const pages = server.requests.slice(before).filter((r) => r.path.includes('/queries/'));
    expect(pages.map((p) => p.query.pageToken ?? null)).toEqual([null, '7', '14', '21']);
    expect(pages.every((p) => p.query.maxResults === '7')).toBe(true);
  });

  const SERIES = 'SELECT x AS i FROM UNNEST(GENERATE_ARRAY(1, 25000)) AS x WHERE x > $1 ORDER BY x';

  it('streams rows in bounded batches', async () => {
    const before = server.requests.length;
    const sizes: number[] = [];
    let sum = 0;
    for await (const batch of wh.stream<{ i: number }>(SERIES, [0], 4000)) {
      sizes.push(batch.length);
      for (const r of batch) sum += r.i;
    }
    expect(sizes).toEqual([4000, 4000, 4000, 4000, 4000, 4000, 1000]);
    expect(sum).toBe((25000 * 25001) / 2);
    // Each batch is one page fetched on demand, never the whole result at once.
    const pages = server.requests.slice(before).filter((r) => r.path.includes('/queries/'));
    expect(pages.length).toBe(7);
    expect(pages.every((p) => p.query.maxResults === '4000')).toBe(true);

    for await (const batch of wh.stream<{ i: number }>(SERIES, [0], 1000)) {
      expect(batch[0]).toEqual({ i: 1 });
      break;
    }
  }, 30_000);

  it('bulk loads 50k typed rows through one multipart load job', async () => {
    await wh.execute(d.createTable(rel('loaded'), LOAD_COLUMNS));
    const before = server.requests.length;
    expect(await wh.bulkLoad(rel('loaded'), LOAD_COLUMNS, batchesOf(50_000, 5000))).toBe(50_000);
    const calls = server.requests.slice(before);
    expect(calls.filter((r) => r.path.startsWith('/upload/')).map((r) => r.query.uploadType)).toEqual(['multipart']);
    expect(calls.some((r) => r.path.endsWith('/insertAll'))).toBe(false);
    expect(server.jobs.at(-1)).toMatchObject({ kind: 'load', sourceFormat: 'NEWLINE_DELIMITED_JSON' });

    const [stats] = await wh.query(`SELECT count(*) AS c, sum(id) AS s, count(name) AS names, count(meta) AS metas, countif(active) AS actives FROM ${t('loaded')}`);
    expect(stats).toStrictEqual({ c: 50_000, s: (50_000 * 50_001) / 2, names: 50_000 - 7142, metas: 40_000, actives: 16_666 });
    const ids = [1, 2, 3, 4, 5, 7, 49_999, 50_000];
    const rows = await wh.query(`SELECT * FROM ${t('loaded')} WHERE id IN UNNEST($1) ORDER BY id`, [ids]);
    expect(rows).toStrictEqual(ids.map(expectedRow));
  }, 60_000);

  // Rejected values and column subsets are in the conformance suite; this is BigQuery's own error mapping.
  it('names a missing table when a load job targets one', async () => {
    async function* onlyB(): AsyncIterable<unknown[][]> {
      yield [['only b']];
    }
    await expect(wh.bulkLoad(rel('no_such_table'), [{ name: 'b', type: 'text' }], onlyB())).rejects.toThrow(/the table does not exist/);
  });

  it('runs DML transactions atomically and sends nothing when the callback throws', async () => {
    await wh.execute(d.createTable(rel('tx'), [{ name: 'a', type: 'integer' }]));
    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${t('tx')} VALUES ($1)`, [1]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await wh.query(`SELECT count(*) AS c FROM ${t('tx')}`)).toEqual([{ c: 0 }]);

    // The second statement fails inside BEGIN/COMMIT TRANSACTION: the first is rolled back too.
    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${t('tx')} VALUES ($1)`, [1]);
        await tx.execute(`INSERT INTO ${t('no_such_table')} VALUES (2)`);
      }),
    ).rejects.toThrow(/BigQuery: .*no_such_table/);
    expect(server.jobs.at(-1)!.query).toMatch(/^BEGIN TRANSACTION;[\s\S]*COMMIT TRANSACTION;$/);
    expect(await wh.query(`SELECT count(*) AS c FROM ${t('tx')}`)).toEqual([{ c: 0 }]);

    expect(
      await wh.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${t('tx')} VALUES ($1)`, [7]);
        await tx.execute(`UPDATE ${t('tx')} SET a = a + $1 WHERE TRUE`, [1]);
        return 'done';
      }),
    ).toBe('done');
    expect(await wh.query(`SELECT a FROM ${t('tx')}`)).toEqual([{ a: 8 }]);
  });

  it('swaps tables with DDL outside a transaction (BigQuery has no transactional DDL)', async () => {
    await wh.execute(d.createTableAs(rel('swap'), 'SELECT 1 AS v'));
    await wh.execute(d.createTableAs(rel('swap__new'), 'SELECT 2 AS v'));
    await wh.transaction(async (tx) => {
      await tx.execute(d.drop(rel('swap'), 'table'));
      await tx.execute(d.rename(rel('swap__new'), 'table', 'swap'));
    });
    expect(await wh.query(`SELECT v FROM ${t('swap')}`)).toEqual([{ v: 2 }]);
    expect(server.jobs.at(-1)!.query).not.toContain('BEGIN TRANSACTION');
    expect((await wh.relations(DATASET)).map((r) => r.name).filter((n) => n.startsWith('swap'))).toEqual(['swap']);
  });

  it('lists relations and columns through the tables API', async () => {
    await wh.execute(d.createTable(rel('rel_table'), [{ name: 'id', type: 'bigint' }, { name: 'we"ird', type: 'text' }, { name: 'created', type: 'timestamp' }]));
    await wh.execute(`INSERT INTO ${t('rel_table')} (id, ${d.quoteIdent('we"ird')}) VALUES (1, ${d.quoteString("o'k")})`);
    await wh.execute(d.createView(rel('rel_view'), `SELECT id FROM ${t('rel_table')};`));
    expect((await wh.relations(DATASET)).filter((r) => r.name.startsWith('rel_'))).toEqual([
      { schema: DATASET, name: 'rel_table', kind: 'table' },
      { schema: DATASET, name: 'rel_view', kind: 'view' },
    ]);
    expect(await wh.columns(rel('rel_table'))).toEqual([
      { name: 'id', dataType: 'INTEGER' },
      { name: 'we"ird', dataType: 'STRING' },
      { name: 'created', dataType: 'TIMESTAMP' },
    ]);
    await expect(wh.execute(d.createView(rel('rel_view'), `SELECT id, created FROM ${t('rel_table')}`))).rejects.toThrow();
    await wh.execute(d.drop(rel('rel_view'), 'view'));
    await wh.execute(d.createView(rel('rel_view'), `SELECT id, created FROM ${t('rel_table')}`));
    expect((await wh.columns(rel('rel_view'))).map((c) => c.name)).toEqual(['id', 'created']);
    await expect(wh.execute(d.rename(rel('rel_view'), 'view', 'renamed'))).rejects.toThrow(/ALTER VIEW/);
    expect(await wh.relations('no_such_dataset')).toEqual([]);
    expect(await wh.columns(rel('no_such_table'))).toEqual([]);
  });

  it('runs the dialect functions', async () => {
    const [row] = await wh.query(
      `SELECT ${d.sha256("'abc'")} AS abc, ${d.sha256('$1')} AS param,
        ${d.regexpMatches("'abc-123'", "r'\\d+$'")} AS matches,
        ${d.regexpReplace("'a1b22'", "r'\\d+'", "'#'")} AS replaced,
        ${d.jsonObject([['id', '1'], ['e mail', "'x@y'"]])} AS obj,
        LENGTH(${d.newUuid()}) AS uuid_len,
        ${d.timestampMinus("TIMESTAMP '2024-03-31 10:00:00'", 1, 'month')} AS month_ago,
        ${d.timestampMinus("TIMESTAMP '2024-03-31 10:00:00'", 2, 'hour')} AS hours_ago,
        ${d.currentTimestamp()} AS now`,
      ['héllo wörld'],
    );
    expect(row.abc).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(row.param).toBe(createHash('sha256').update('héllo wörld', 'utf8').digest('hex'));
    expect(row).toMatchObject({ matches: true, replaced: 'a#b#', obj: '{"id":1,"e mail":"x@y"}', uuid_len: 36 });
    expect(row.month_ago).toEqual(new Date('2024-02-29T10:00:00Z'));
    expect(row.hours_ago).toEqual(new Date('2024-03-31T08:00:00Z'));
    expect(Math.abs((row.now as Date).getTime() - Date.now())).toBeLessThan(60_000);
    const [agg] = await wh.query(`SELECT ${d.arrayAgg('x', 'x DESC')} AS a FROM UNNEST(['b', 'a', NULL, 'b']) AS x`);
    expect(agg).toEqual({ a: ['b', 'a'] });
  });

  it('estimates bytes with a dry-run job that runs nothing', async () => {
    await wh.execute(d.createTableAs(rel('sized'), 'SELECT x AS a, x * 2 AS b FROM UNNEST(GENERATE_ARRAY(1, 100)) AS x'));
    const bytes = await wh.estimateBytes(`DELETE FROM ${t('sized')} WHERE a > $1`, [0]);
    expect(bytes).toBe(100 * 2 * 8);
    expect(server.jobs.at(-1)).toMatchObject({ dryRun: true, labels: { tool: 'composable-cdp' } });
    expect(await wh.query(`SELECT count(*) AS c FROM ${t('sized')}`)).toEqual([{ c: 100 }]);
    await expect(wh.estimateBytes('SELEC 1')).rejects.toThrow(/BigQuery: /);
  });

  it('stops queries that would bill more than maximum_bytes_billed', async () => {
    const capped = await BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, apiEndpoint: server.url, authClient: authClient(), maximumBytesBilled: 100 });
    const err = await capped.query(`SELECT * FROM ${t('sized')}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CdpError);
    expect((err as CdpError).message).toMatch(/maximum_bytes_billed/);
    expect((err as CdpError).hint).toMatch(/--dry-run/);
  });

  it('maps errors to clear messages without secrets', async () => {
    const sqlErr = await wh.query(`SELECT nope FROM ${t('sized')}`).catch((e: unknown) => e);
    expect(sqlErr).toBeInstanceOf(BigQueryQueryError);
    expect((sqlErr as Error).message).toMatch(/^BigQuery: .*nope/);

    const open = (opts: Partial<Parameters<typeof BigQueryWarehouse.open>[0]>) =>
      BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, apiEndpoint: server.url, authClient: authClient(), ...opts }).then(
        () => undefined,
        (e: unknown) => e as CdpError,
      );

    const missing = await open({ dataset: 'nowhere' });
    expect(missing).toBeInstanceOf(CdpError);
    expect(missing!.message).toBe('Dataset "test-project:nowhere" does not exist (BigQuery project "test-project", dataset "nowhere")');
    expect(missing!.hint).toMatch(/bq mk --dataset test-project:nowhere/);

    const denied = await open({ dataset: 'secret_stuff' });
    expect(denied!.message).toMatch(/^Permission denied on BigQuery project "test-project", dataset "secret_stuff"/);
    expect(denied!.hint).toMatch(/BigQuery Job User/);

    const badToken = await open({ authClient: authClient('wrong-secret-token') });
    expect(badToken!.message).toMatch(/BigQuery did not accept the credentials for BigQuery project "test-project"/);
    expect(badToken!.hint).toMatch(/keyfile/);

    // Without retries: the client's default backs off for about 15 s before giving up.
    const unreachable = await open({ apiEndpoint: 'http://127.0.0.1:1', maxRetries: 0 });
    expect(unreachable!.message).toMatch(/^Cannot reach BigQuery at http:\/\/127\.0\.0\.1:1 for BigQuery project "test-project"/);

    const noKey = await open({ authClient: undefined, keyfile: join(keyDir, 'missing.json') });
    expect(noKey!.message).toMatch(/key file .*missing\.json .* cannot be read/);

    const wrongLocation = await open({ location: 'EU' });
    expect(wrongLocation!.message).toMatch(/is in US, but the target's location is EU/);

    for (const e of [missing, denied, badToken, unreachable, noKey]) {
      expect(`${e!.message} ${e!.hint}`).not.toMatch(/wrong-secret-token|fake-token|PRIVATE KEY/);
    }
  });

  it('authenticates with a service-account key file', async () => {
    const viaKey = await BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, apiEndpoint: server.url, keyfile });
    expect(await viaKey.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });

  it('serves the client calls the adapter does not use: jobs.query paging, insertAll, tabledata.list, dataset and table inserts', async () => {
    const bq = new BigQuery({ projectId: PROJECT, apiEndpoint: server.url, authClient: authClient() });
    const [dataset] = await bq.createDataset('raw_api');
    const [table] = await dataset.createTable('events', { schema: { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'at', type: 'TIMESTAMP' }, { name: 'tag', type: 'STRING' }] } });
    await table.insert([{ id: 1, at: '2024-01-01T00:00:00Z', tag: 'a' }, { id: 2, at: '2024-01-02T00:00:00Z', tag: 'b' }]);
    const [rows] = await table.getRows();
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
    const [queried] = await bq.query({ query: 'SELECT id, tag FROM `raw_api.events` WHERE id >= @min ORDER BY id', params: { min: 1 } });
    expect(queried).toEqual([{ id: 1, tag: 'a' }, { id: 2, tag: 'b' }]);
    expect(server.requests.some((r) => r.path.endsWith('/queries') && r.method === 'POST')).toBe(true);
    const bad = await table.insert([{ id: 3, nope: 1 }]).catch((e: unknown) => e as { name: string; errors: { errors: { reason: string }[] }[] });
    expect(bad).toMatchObject({ name: 'PartialFailureError' });
  });

  it('builds a small project end to end through the registry and the runner', async () => {
    await server.duck('CREATE SCHEMA e2e');
    const dir = makeProject({
      'cdp.config.yaml': [
        'name: bq_project',
        'target: bq',
        'targets:',
        '  bq:',
        '    type: bigquery',
        `    project: ${PROJECT}`,
        '    dataset: e2e',
        '    schema: e2e',
        '    location: US',
        `    keyfile: ${keyfile}`,
        `    api_endpoint: ${server.url}`,
        '    maximum_bytes_billed: 1000000000',
        'threads: 2',
        '',
      ].join('\n'),
      'seeds/raw_people.csv': 'id,email,joined_on,score,active\n1, Ada@X.com ,2026-01-02,1.5,true\n2,bob@y.org,2026-02-03,,false\n3,,2026-03-04,7,true\n',
      'models/stg_people.sql': 'select id, lower(trim(email)) as email, joined_on, score, active from {{ref "raw_people"}}',
      'models/people_summary.sql': '{{config materialized="table"}}\nselect count(*) as people, count(email) as with_email, sum(score) as total_score from {{ref "stg_people"}}',
      'models/schema.yml': 'models:\n  - name: stg_people\n    columns:\n      - name: id\n        tests: [unique, not_null]\n',
    });
    try {
      const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
      const outcome = await runCommand({ command: 'build', projectDir: dir, out: quiet });
      expect(outcome.summary.results.map((r) => `${r.name}:${r.status}:${r.status === 'error' ? r.message : ''}`).sort()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^raw_people:success/), expect.stringMatching(/^stg_people:success/), expect.stringMatching(/^people_summary:success/)]),
      );
      expect(outcome.exitCode).toBe(0);
      const e2e = await openWarehouse({ type: 'bigquery', project: PROJECT, dataset: 'e2e', api_endpoint: server.url, keyfile });
      expect(await e2e.query('select id, email, joined_on, score, active from `test-project.e2e.stg_people` order by id')).toEqual([
        { id: 1, email: 'ada@x.com', joined_on: '2026-01-02', score: 1.5, active: true },
        { id: 2, email: 'bob@y.org', joined_on: '2026-02-03', score: null, active: false },
        { id: 3, email: null, joined_on: '2026-03-04', score: 7, active: true },
      ]);
      expect(await e2e.query('select people, with_email, total_score from e2e.people_summary')).toEqual([{ people: 3, with_email: 2, total_score: 8.5 }]);
      expect((await e2e.relations('e2e')).map((r) => `${r.name}:${r.kind}`)).toEqual(['people_summary:table', 'raw_people:table', 'stg_people:view']);
      const [{ runs }] = await e2e.query('select count(*) as runs from cdp_state.run_history');
      expect(runs).toBe(outcome.summary.results.length);

      // `cdp run --dry-run` reports the bytes each model would process and builds nothing.
      const cli = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, ['--import', path.join(process.cwd(), 'node_modules/tsx/dist/loader.mjs'), path.join(process.cwd(), 'src/cli/main.ts'), 'run', '--dry-run', '--json', '--project-dir', dir],
          { env: { ...process.env, METADATA_SERVER_DETECTION: 'none', CI: '1' } },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
      expect(cli.code).toBe(0);
      const report = JSON.parse(cli.out.trim().split('\n').pop()!);
      expect(report.models.map((m: { model: string }) => m.model).sort()).toEqual(['people_summary', 'stg_people']);
      expect(report.total_bytes).toBe(report.models.reduce((s: number, m: { bytes: number }) => s + m.bytes, 0));
    } finally {
      removeProject(dir);
    }
  }, 60_000);
});
