/**
 * The Snowflake adapter on the real snowflake-sdk, against the local protocol endpoint in
 * tests/protocol/snowflake-server.ts (HTTP on 127.0.0.1, DuckDB behind it). Nothing here
 * reaches the internet.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnowflakeWarehouse } from '../adapters/warehouse/snowflake/connection.js';
import { SnowflakeDialect } from '../adapters/warehouse/snowflake/dialect.js';
import { SwapCoalescer } from '../adapters/warehouse/snowflake/swap.js';
import { toNumberedBinds } from '../adapters/warehouse/snowflake/values.js';
import { CdpError } from '../src/errors.js';
import { replaceAtomically, buildTableAndSwap } from '../src/materializations/swap.js';
import { runCommand } from '../src/runner/run.js';
import { dialectFor, openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { ColumnSpec, Relation, Warehouse } from '../src/warehouse/types.js';
import { makeProject, removeProject } from './helpers/project.js';
import { startSnowflakeServer, type SnowflakeServer } from './protocol/snowflake-server.js';
import { LOAD_COLUMNS, batchesOf, expectedRow } from './helpers/typed-rows.js';

// Local time must never leak into values.
process.env.TZ = 'Asia/Kolkata';

const PASSWORD = 'sekret-pw';
const PASSPHRASE = 'key-passphrase-1';
const SCHEMA = 'conformance';
const rel = (name: string): Relation => ({ schema: SCHEMA, name });

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(path.join(tmpdir(), 'cdp-sf-'));
const encryptedKeyFile = path.join(dir, 'rsa_key.p8');
writeFileSync(encryptedKeyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }));
const plainOtherKeyFile = path.join(dir, 'other_key.p8');
writeFileSync(plainOtherKeyFile, otherKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }));

let server: SnowflakeServer;
type SnowflakeTarget = Extract<TargetConfig, { type: 'bigquery' | 'snowflake' }>;
let target: SnowflakeTarget;

beforeAll(async () => {
  server = await startSnowflakeServer({
    account: 'test',
    users: {
      u: { password: PASSWORD, roles: ['TRANSFORMER', 'PUBLIC'] },
      svc: { publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      nostage: { password: PASSWORD, stageAccess: 'denied' },
      noupload: { password: PASSWORD, stageAccess: 'unreachable' },
    },
    databases: ['DB'],
    warehouses: ['WH'],
    inlineRows: 1000,
    chunkRows: 4000,
  });
  target = { type: 'snowflake', account: 'test', user: 'u', password: PASSWORD, role: 'TRANSFORMER', database: 'DB', warehouse: 'WH', schema: 'analytics', access_url: server.url };
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failureOf(p: Promise<unknown>): Promise<CdpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CdpError);
  return err as CdpError;
}

describe('snowflake dialect', () => {
  const d = new SnowflakeDialect();

  it('is what the registry hands out, with Snowflake capabilities', async () => {
    expect((await dialectFor('snowflake')).name).toBe('snowflake');
    expect(d.capabilities).toEqual({ transactionalDdl: false, merge: true, enforcedPrimaryKeys: false });
  });

  it('quotes plain lower-case names in their stored upper-case form and keeps every other name exactly', () => {
    expect(d.quoteIdent('run_id')).toBe('"RUN_ID"');
    expect(d.quoteIdent('Mixed')).toBe('"Mixed"');
    expect(d.quoteIdent('we"ird')).toBe('"we""ird"');
    expect(d.relation({ schema: 'analytics', name: 'orders' })).toBe('"ANALYTICS"."ORDERS"');
    expect(d.quoteString("it's a \\d")).toBe("'it''s a \\\\d'");
  });

  it('generates Snowflake SQL for every dialect method', () => {
    const r = { schema: 's', name: 't' };
    expect(d.typeName('json')).toBe('VARIANT');
    expect(d.typeName('timestamp')).toBe('TIMESTAMP_NTZ');
    expect(d.createSchema('s')).toBe('CREATE SCHEMA IF NOT EXISTS "S"');
    expect(d.rename(r, 'table', 't2')).toBe('ALTER TABLE "S"."T" RENAME TO "S"."T2"');
    expect(d.nullSafeEquals('a', 'b')).toBe('EQUAL_NULL(a, b)');
    expect(d.currentTimestamp()).toBe('SYSDATE()');
    expect(d.sha256('x')).toBe('SHA2(x, 256)');
    expect(d.cast("'{}'", 'json')).toBe("PARSE_JSON('{}')");
    expect(d.arrayAgg('x', 'x DESC')).toBe('ARRAY_AGG(DISTINCT x) WITHIN GROUP (ORDER BY x DESC)');
    expect(d.regexpMatches('x', "'a'")).toBe("(REGEXP_INSTR(x, 'a') > 0)");
    expect(d.regexpReplace('x', "'a'", "'b'")).toBe("REGEXP_REPLACE(x, 'a', 'b')");
    expect(d.newUuid()).toBe('UUID_STRING()');
    expect(d.timestampMinus('ts', 30, 'day')).toBe('DATEADD(day, -30, ts)');
    expect(() => d.timestampMinus('ts', 1.5, 'day')).toThrow();
    expect(d.jsonObject([['a', 'x']])).toBe("TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL('a', x))");
    const [keysOnly] = d.mergeInto(r, { schema: 's', name: 'src' }, ['k'], []);
    expect(keysOnly).not.toMatch(/WHEN MATCHED/);
    expect(keysOnly).toMatch(/ON EQUAL_NULL\("dst"\."K", "src"\."K"\)/);
  });

  it('rewrites $n parameters to numbered binds outside literals, identifiers and comments', () => {
    expect(toNumberedBinds(`select $1, '$2', "$3", $1 -- $4\n, $$ $5 $$, $10`)).toBe(`select :1, '$2', "$3", :1 -- $4\n, $$ $5 $$, :10`);
  });

  it('turns drop-then-replace into SWAP WITH and CREATE OR REPLACE VIEW', () => {
    const c = new SwapCoalescer({ run: async () => undefined });
    expect(c.plan(d.drop(rel('t'), 'table'))).toEqual([]);
    expect(c.plan(d.rename(rel('t__cdp_tmp'), 'table', 't'))).toEqual([
      'ALTER TABLE "CONFORMANCE"."T__CDP_TMP" SWAP WITH "CONFORMANCE"."T"',
      'DROP TABLE IF EXISTS "CONFORMANCE"."T__CDP_TMP"',
    ]);
    expect(c.plan(d.drop(rel('v'), 'view'))).toEqual([]);
    expect(c.plan(d.createView(rel('v'), 'select 1'))).toEqual(['CREATE OR REPLACE VIEW "CONFORMANCE"."V" AS\nselect 1\n']);
    // A view replaced by a table cannot be swapped: the drop runs first, unchanged.
    expect(c.plan(d.drop(rel('x'), 'view'))).toEqual([]);
    expect(c.plan(d.rename(rel('x__cdp_tmp'), 'table', 'x'))).toEqual([d.drop(rel('x'), 'view'), d.rename(rel('x__cdp_tmp'), 'table', 'x')]);
  });

  it('falls back to drop and rename when SWAP WITH fails', async () => {
    const ran: string[] = [];
    const c = new SwapCoalescer({
      run: async (sql) => {
        if (sql.includes('SWAP WITH')) throw new Error('does not exist');
        ran.push(sql);
      },
    });
    expect(await c.before(d.drop(rel('t'), 'table'))).toBeUndefined();
    expect(await c.before(d.rename(rel('t__cdp_tmp'), 'table', 't'))).toBe(d.rename(rel('t__cdp_tmp'), 'table', 't'));
    expect(ran).toEqual([d.drop(rel('t'), 'table')]);
  });
});

describe('snowflake connection', () => {
  it('logs in with the target settings and pings', async () => {
    const wh = await openWarehouse(target);
    try {
      expect(await wh.ping()).toBe('Snowflake 9.99.0');
      expect(wh.dialect.name).toBe('snowflake');
      const login = server.logins.at(-1)!;
      expect(login).toMatchObject({ user: 'u', ok: true, authenticator: 'SNOWFLAKE', database: 'DB', warehouse: 'WH', role: 'TRANSFORMER', schema: 'analytics' });
    } finally {
      await wh.close();
    }
  });

  it('shows the connectAsync quirk the adapter avoids: it resolves although the login failed', async () => {
    const require = createRequire(import.meta.url);
    const sdk = require('snowflake-sdk') as typeof import('snowflake-sdk');
    const conn = sdk.createConnection({ accessUrl: server.url, account: 'test', username: 'u', password: 'wrong' } as never);
    await expect(conn.connectAsync(() => undefined)).resolves.toBeDefined();
    expect(conn.isUp()).toBe(false);
  });

  it('turns a wrong password into one CdpError naming the account and user, without the password', async () => {
    const err = await failureOf(openWarehouse({ ...target, password: 'wrong-password-123' }));
    expect(err.message).toMatch(/Cannot connect to Snowflake account "test" at http:\/\/127\.0\.0\.1:\d+ as user "u": Incorrect username or password/);
    expect(err.hint).toMatch(/password/);
    expect(`${err.message} ${err.hint}`).not.toContain('wrong-password-123');
  });

  it('names a role the user may not use', async () => {
    const err = await failureOf(openWarehouse({ ...target, role: 'SYSADMIN' }));
    expect(err.hint).toMatch(/Role "SYSADMIN" does not exist or is not granted to user "u"/);
  });

  it('fails before any model runs when the database or warehouse is missing or not granted', async () => {
    const db = await failureOf(openWarehouse({ ...target, database: 'NOPE' }));
    expect(db.message).toMatch(/Cannot use database "NOPE" on Snowflake account "test"/);
    expect(db.hint).toMatch(/GRANT USAGE ON DATABASE NOPE TO ROLE TRANSFORMER/);
    const wh = await failureOf(openWarehouse({ ...target, warehouse: 'BIG_WH' }));
    expect(wh.message).toMatch(/Cannot use warehouse "BIG_WH"/);
    // The sessions opened for the checks were logged out again.
    expect(server.openSessions()).toBe(0);
  });

  it('reports an unreachable endpoint and missing settings clearly', async () => {
    const down = await failureOf(openWarehouse({ ...target, access_url: 'http://127.0.0.1:1' }));
    expect(down.message).toMatch(/Cannot connect to Snowflake account "test" at http:\/\/127\.0\.0\.1:1/);
    expect(down.hint).toMatch(/access_url/);
    expect((await failureOf(openWarehouse({ type: 'snowflake' }))).message).toMatch(/no account/);
    const noSecret = await failureOf(openWarehouse({ ...target, password: undefined }));
    expect(noSecret.message).toMatch(/neither a password nor a private_key_path/);
  }, 30_000);

  it('logs in with a key pair (encrypted PKCS#8 key and passphrase)', async () => {
    const keyTarget: SnowflakeTarget = { ...target, user: 'svc', role: undefined, password: undefined, private_key_path: encryptedKeyFile, private_key_passphrase: PASSPHRASE };
    const wh = await openWarehouse(keyTarget);
    try {
      expect(await wh.query('SELECT CURRENT_USER() AS "u"')).toEqual([{ u: 'SVC' }]);
      expect(server.logins.at(-1)).toMatchObject({ user: 'svc', ok: true, authenticator: 'SNOWFLAKE_JWT' });
    } finally {
      await wh.close();
    }
    const badPass = await failureOf(openWarehouse({ ...keyTarget, private_key_passphrase: 'not-it-at-all' }));
    expect(badPass.hint).toMatch(/private_key_passphrase/);
    expect(`${badPass.message} ${badPass.hint}`).not.toContain('not-it-at-all');
    const wrongKey = await failureOf(openWarehouse({ ...keyTarget, private_key_path: plainOtherKeyFile, private_key_passphrase: undefined }));
    expect(wrongKey.hint).toMatch(/RSA_PUBLIC_KEY/);
    const noFile = await failureOf(openWarehouse({ ...keyTarget, private_key_path: path.join(dir, 'missing.p8') }));
    expect(noFile.message).toMatch(/Cannot read the private key file .*missing\.p8.*ENOENT/);
  });
});

describe('snowflake warehouse', () => {
  let wh: Warehouse;
  const table = (name: string) => wh.dialect.relation(rel(name));

  beforeAll(async () => {
    wh = await openWarehouse(target);
    await wh.execute(wh.dialect.createSchema(SCHEMA));
  });

  afterAll(async () => {
    await wh?.close();
  });

  it('normalises scalar result values', async () => {
    const d = wh.dialect;
    const [row] = await wh.query(`SELECT
      ${d.cast('42', 'integer')} AS i,
      ${d.cast('123456789012', 'bigint')} AS b,
      ${d.cast("'9007199254740993'", 'bigint')} AS huge,
      ${d.cast("'1.25'", 'decimal')} AS dec,
      ${d.cast('0.5', 'double')} AS dbl,
      ${d.cast("'2024-02-29'", 'date')} AS d,
      ${d.cast("'2024-01-02 03:04:05.678'", 'timestamp')} AS ts,
      CAST('2024-01-02 03:04:05.678+02:00' AS TIMESTAMP_TZ) AS tstz,
      true AS t,
      'héllo' AS s,
      ${d.cast('NULL', 'integer')} AS n,
      ${d.cast(`'{"a": [1, 2]}'`, 'json')} AS j,
      'x' AS "Mixed"`);
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
      Mixed: 'x',
    });
  });

  it('binds $n parameters of every JS type, reused and next to literals', async () => {
    const [row] = await wh.query(`SELECT $1 + 1 AS n, $2 AS s, CAST($3 AS TIMESTAMP_NTZ) AS ts, CAST($4 AS BIGINT) AS big, $5 = 'x' AS eq, CAST($6 AS BOOLEAN) AS flag, $1 AS again, '$1' AS lit`, [
      41,
      "it's",
      new Date('2024-05-06T07:08:09.010Z'),
      9007199254740993n,
      null,
      true,
    ]);
    expect(row).toStrictEqual({ n: 42, s: "it's", ts: new Date('2024-05-06T07:08:09.010Z'), big: 9007199254740993n, eq: null, flag: true, again: 41, lit: '$1' });
    const sent = server.queries.at(-1)!;
    expect(sent.sqlText).toContain(':1 + 1');
    expect(sent.bindCount).toBe(6);

    await wh.execute(wh.dialect.createTable(rel('params'), [{ name: 'id', type: 'integer' }, { name: 'label', type: 'text' }]));
    await wh.execute(`INSERT INTO ${table('params')} VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, "it's two"]);
    expect(await wh.query(`SELECT label FROM ${table('params')} WHERE id = $1`, [2])).toEqual([{ label: "it's two" }]);
  });

  const SERIES = `SELECT g AS i FROM generate_series(1, 25000) AS t(g) WHERE g > $1 ORDER BY g`;

  it('downloads large results through chunks', async () => {
    const before = server.chunkRequests.length;
    const rows = await wh.query<{ i: number }>(SERIES, [0]);
    expect(rows.length).toBe(25000);
    expect(rows[0]).toEqual({ i: 1 });
    expect(rows[24999]).toEqual({ i: 25000 });
    const fetched = server.chunkRequests.slice(before);
    // 1,000 rows inline, then 24,000 in chunks of 4,000.
    expect(fetched.length).toBe(6);
    expect(fetched.every((c) => c.chunkKey === 'local-chunk-key' && c.authorization === undefined)).toBe(true);
  }, 30_000);

  it('releases the session when a stream ends early or fails', async () => {
    for (let n = 0; n < 6; n++) {
      for await (const batch of wh.stream<{ i: number }>(SERIES, [0], 1000)) {
        expect(batch[0]).toEqual({ i: 1 });
        break;
      }
    }
    for (let n = 0; n < 3; n++) {
      const failing = async () => {
        for await (const _batch of wh.stream('SELECT * FROM no_such_table_anywhere')) void _batch;
      };
      await expect(failing()).rejects.toThrow(/NO_SUCH_TABLE_ANYWHERE/);
    }
    expect(await wh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  }, 30_000);

  it('maps SQL errors to one line with the Snowflake code, SQLSTATE and query id', async () => {
    const err = await wh.query('SELECT * FROM missing_table').then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; sqlState?: string; queryId?: string },
    );
    expect(err?.name).toBe('SnowflakeQueryError');
    expect(err?.code).toBe('002003');
    expect(err?.sqlState).toBe('42S02');
    expect(err?.queryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(err?.message).not.toContain('\n');
    expect(err?.message).toMatch(/SQL compilation error: .*MISSING_TABLE.*\(Snowflake error 002003, SQLSTATE 42S02, query /);
  });

  it('bulk loads 20k typed rows through the user stage: PUT, COPY INTO, REMOVE', async () => {
    await wh.execute(wh.dialect.createTable(rel('loaded'), LOAD_COLUMNS));
    const before = server.queries.length;
    const umask = process.umask();
    const loaded = await wh.bulkLoad(rel('loaded'), LOAD_COLUMNS, batchesOf(20_000, 5000));
    expect(loaded).toBe(20_000);
    const sent = server.queries.slice(before);
    expect(sent.map((q) => q.sqlText.split(' ')[0])).toEqual(['PUT', 'COPY', 'REMOVE']);
    expect(sent.every((q) => q.error === undefined)).toBe(true);
    expect(sent[0].sqlText).toMatch(/^PUT 'file:\/\/.*\/part_\*\.csv\.gz' @~\/composable-cdp\/[0-9a-f-]{36}\/ AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP/);
    expect(sent[1].sqlText).toMatch(/^COPY INTO "CONFORMANCE"."LOADED" \("ID", "N", "NAME", .*"META"\)\nFROM \(SELECT \$1, .*PARSE_JSON\(\$9\) FROM @~\/composable-cdp\//);
    expect(new Set(sent.map((q) => q.queryTag))).toEqual(new Set([JSON.stringify({ app: 'composable-cdp', model: `${SCHEMA}.loaded` })]));
    // The staged file was purged, and the local temporary files are gone.
    expect(server.stagedFiles()).toEqual([]);
    // snowflake-sdk's local stage sets the process umask to 0; the adapter puts it back.
    expect(process.umask()).toBe(umask);

    const [stats] = await wh.query(`SELECT count(*) AS c, sum(id) AS s, count(name) AS names, count(meta) AS metas,
      sum(CASE WHEN active THEN 1 ELSE 0 END) AS actives FROM ${table('loaded')}`);
    expect(stats).toStrictEqual({ c: 20_000, s: (20_000 * 20_001) / 2, names: 20_000 - 2857, metas: 16_000, actives: 6_666 });

    const ids = [1, 2, 3, 4, 5, 7, 19_999, 20_000];
    const rows = await wh.query(`SELECT * FROM ${table('loaded')} WHERE id IN (${ids.join(', ')}) ORDER BY id`);
    expect(rows).toStrictEqual(ids.map(expectedRow));
  }, 120_000);

  it('bulk loads small batches with multi-row INSERTs in one transaction', async () => {
    await wh.execute(wh.dialect.createTable(rel('loaded_small'), LOAD_COLUMNS));
    const before = server.queries.length;
    expect(await wh.bulkLoad(rel('loaded_small'), LOAD_COLUMNS, batchesOf(2500, 1000))).toBe(2500);
    const sent = server.queries.slice(before).map((q) => q.sqlText.split(/\s/)[0]);
    expect(sent).toEqual(['BEGIN', 'INSERT', 'INSERT', 'INSERT', 'COMMIT']);
    expect(server.queries.slice(before)[1].bindCount).toBe(1000 * LOAD_COLUMNS.length);
    const rows = await wh.query(`SELECT * FROM ${table('loaded_small')} WHERE id IN (1, 3, 2500) ORDER BY id`);
    expect(rows).toStrictEqual([1, 3, 2500].map(expectedRow));
  }, 60_000);

  // Values that CSV, Snowflake's file format options and JSON must all carry unchanged.
  const TRICKY_TEXT = ['', 'a,b', 'say "hi"', '"', '""', 'line1\nline2', 'crlf\r\nend', 'tab\there', 'back\\slash', 'ends\\', '\\N', 'NULL', 'null', ' padded ', 'héllo wörld 🎉 日本語', "it's", '"quoted,comma"\n'];
  const TRICKY_COLUMNS: ColumnSpec[] = [
    { name: 'id', type: 'integer' },
    { name: 'txt', type: 'text' },
    { name: 'flag', type: 'boolean' },
    { name: 'big', type: 'bigint' },
    { name: 'dbl', type: 'double' },
    { name: 'amount', type: 'decimal' },
    { name: 'day', type: 'date' },
    { name: 'at', type: 'timestamp' },
    { name: 'doc', type: 'json' },
  ];
  const trickyRow = (i: number): unknown[] => [
    i,
    i % 11 === 0 ? null : `${TRICKY_TEXT[i % TRICKY_TEXT.length]}${i % 3 === 0 ? '' : i}`,
    i % 13 === 0 ? null : i % 2 === 0,
    i % 17 === 0 ? null : i === 5 ? 9007199254740993n : BigInt(i) * 1_000_000_007n - 4_000_000_000n,
    i % 19 === 0 ? null : i % 4 === 0 ? i / 3 : -i * 1e-7,
    i % 23 === 0 ? null : `${i % 2 === 0 ? '-' : ''}${i}.${String(i % 1000).padStart(3, '0')}`,
    i % 29 === 0 ? null : new Date(Date.UTC(1999, 11, 31) + (i % 9000) * 86_400_000).toISOString().slice(0, 10),
    i % 31 === 0 ? null : new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999) - i * 3_600_123),
    i % 37 === 0 ? null : { s: TRICKY_TEXT[i % TRICKY_TEXT.length], n: i, nested: { ok: i % 2 === 0, list: [1, 'two', null] } },
  ];
  const trickyExpected = (i: number) => {
    const [id, txt, flag, big, dbl, amount, day, at, doc] = trickyRow(i);
    return {
      id,
      txt,
      flag,
      big: big === null ? null : BigInt.asIntN(64, big as bigint) > BigInt(Number.MAX_SAFE_INTEGER) ? big : Number(big),
      dbl,
      amount: amount === null ? null : Number(amount),
      day,
      at,
      doc,
    };
  };
  async function* trickyBatches(total: number): AsyncIterable<unknown[][]> {
    for (let start = 1; start <= total; start += 1000) yield Array.from({ length: Math.min(1000, total - start + 1) }, (_, k) => trickyRow(start + k));
  }

  it('round-trips NULLs, quotes, commas, newlines, unicode, numbers, dates and timestamps exactly through the stage', async () => {
    await wh.execute(wh.dialect.createTable(rel('tricky'), TRICKY_COLUMNS));
    const before = server.queries.length;
    expect(await wh.bulkLoad(rel('tricky'), TRICKY_COLUMNS, trickyBatches(6000))).toBe(6000);
    expect(server.queries.slice(before).map((q) => q.sqlText.split(' ')[0])).toEqual(['PUT', 'COPY', 'REMOVE']);
    const rows = await wh.query(`SELECT * FROM ${table('tricky')} ORDER BY id`);
    expect(rows.length).toBe(6000);
    for (let i = 1; i <= 6000; i++) expect(rows[i - 1]).toStrictEqual(trickyExpected(i));
  }, 60_000);

  it('splits a large load into several staged files and loads them with one COPY INTO', async () => {
    const split = await SnowflakeWarehouse.open({ account: 'test', user: 'u', password: PASSWORD, database: 'DB', warehouse: 'WH', accessUrl: server.url, stageFileRows: 2500 });
    try {
      await split.execute(split.dialect.createTable(rel('tricky_split'), TRICKY_COLUMNS));
      const before = server.queries.length;
      expect(await split.bulkLoad(rel('tricky_split'), TRICKY_COLUMNS, trickyBatches(6000))).toBe(6000);
      const sent = server.queries.slice(before);
      expect(sent.map((q) => q.sqlText.split(' ')[0])).toEqual(['PUT', 'COPY', 'REMOVE']);
      expect(sent[1].loadedFiles).toEqual(['part_0001.csv.gz', 'part_0002.csv.gz', 'part_0003.csv.gz']);
      const rows = await split.query(`SELECT * FROM ${table('tricky_split')} ORDER BY id`);
      expect(rows.length).toBe(6000);
      for (let i = 1; i <= 6000; i += 7) expect(rows[i - 1]).toStrictEqual(trickyExpected(i));
      expect(server.stagedFiles()).toEqual([]);
    } finally {
      await split.close();
    }
  }, 60_000);

  it.each([
    { user: 'nostage', why: 'the server refuses PUT', error: /Insufficient privileges to operate on stage '~'/, reason: /SQL access control error: Insufficient privileges/ },
    { user: 'noupload', why: 'the upload fails in the driver', error: undefined, reason: /ENOTDIR.*unreachable-stage/ },
  ])('falls back to batched INSERTs, with a debug line, when $why', async ({ user, error, reason }) => {
    const lines: string[] = [];
    const noStage = await SnowflakeWarehouse.open({ account: 'test', user, password: PASSWORD, database: 'DB', warehouse: 'WH', accessUrl: server.url, debug: (m) => lines.push(m) });
    const name = `tricky_${user}`;
    try {
      await noStage.execute(noStage.dialect.createTable(rel(name), TRICKY_COLUMNS));
      const before = server.queries.length;
      const umask = process.umask();
      expect(await noStage.bulkLoad(rel(name), TRICKY_COLUMNS, trickyBatches(6000))).toBe(6000);
      expect(process.umask()).toBe(umask);
      const sent = server.queries.slice(before);
      expect(sent[0].sqlText).toMatch(/^PUT /);
      if (error) expect(sent[0].error).toMatch(error);
      expect(sent.slice(1).map((q) => q.sqlText.split(/\s/)[0])).toEqual(['BEGIN', ...Array(6).fill('INSERT'), 'COMMIT']);
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(new RegExp(`^snowflake: PUT to the user stage failed \\(.*\\); loading conformance\\.${name} with batched INSERTs instead$`));
      expect(lines[0]).toMatch(reason);
      const rows = await noStage.query(`SELECT * FROM ${table(name)} ORDER BY id`);
      expect(rows.length).toBe(6000);
      for (let i = 1; i <= 6000; i++) expect(rows[i - 1]).toStrictEqual(trickyExpected(i));
    } finally {
      await noStage.close();
    }
  }, 60_000);

  it('loads nothing and leaves no staged file when COPY INTO fails', async () => {
    const cols: ColumnSpec[] = [{ name: 'a', type: 'integer' }, { name: 'b', type: 'text' }];
    // The table's column is narrower than the load says, so COPY's conversion fails on the server.
    await wh.execute(`CREATE TABLE ${table('copy_fails')} (${wh.dialect.quoteIdent('a')} BOOLEAN, ${wh.dialect.quoteIdent('b')} VARCHAR)`);
    async function* rows(): AsyncIterable<unknown[][]> {
      yield Array.from({ length: 6000 }, (_, i) => [i + 2, `row ${i}`]);
    }
    await expect(wh.bulkLoad(rel('copy_fails'), cols, rows())).rejects.toThrow(/Snowflake error 100038/);
    expect(await wh.query(`SELECT count(*) AS c FROM ${table('copy_fails')}`)).toEqual([{ c: 0 }]);
    expect(server.stagedFiles()).toEqual([]);
  }, 60_000);

  it('rolls DML back but not DDL, which Snowflake commits on its own', async () => {
    const d = wh.dialect;
    await wh.execute(d.createTable(rel('tx_rows'), [{ name: 'a', type: 'integer' }]));
    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${table('tx_rows')} VALUES ($1)`, [1]);
        expect(await tx.query(`SELECT a FROM ${table('tx_rows')}`)).toEqual([{ a: 1 }]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await wh.query(`SELECT count(*) AS c FROM ${table('tx_rows')}`)).toEqual([{ c: 0 }]);

    await expect(
      wh.transaction(async (tx) => {
        await tx.execute(d.createTable(rel('tx_ddl'), [{ name: 'a', type: 'integer' }]));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await wh.relations(SCHEMA)).map((r) => r.name)).toContain('tx_ddl');

    expect(await wh.transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${table('tx_rows')} VALUES ($1)`, [7]);
      return 'done';
    })).toBe('done');
    expect(await wh.query(`SELECT a FROM ${table('tx_rows')}`)).toEqual([{ a: 7 }]);
  });

  it('replaces tables with SWAP WITH and views with CREATE OR REPLACE VIEW', async () => {
    const d = wh.dialect;
    const target = rel('swapped');
    expect(await buildTableAndSwap(wh, target, 'SELECT 1 AS v')).toBe(1);
    await wh.execute(d.createView(rel('swapped_view'), `SELECT v FROM ${table('swapped')}`));
    const before = server.queries.length;
    expect(await buildTableAndSwap(wh, target, 'SELECT 2 AS v UNION ALL SELECT 3')).toBe(2);
    const sent = server.queries.slice(before).map((q) => q.sqlText);
    expect(sent).toContain('ALTER TABLE "CONFORMANCE"."SWAPPED__CDP_TMP" SWAP WITH "CONFORMANCE"."SWAPPED"');
    expect(sent.some((s) => /^DROP TABLE IF EXISTS "CONFORMANCE"."SWAPPED"$/.test(s))).toBe(false);
    expect(await wh.query(`SELECT v FROM ${table('swapped_view')} ORDER BY v`)).toEqual([{ v: 2 }, { v: 3 }]);
    expect((await wh.relations(SCHEMA)).map((r) => r.name).filter((n) => n.startsWith('swapped'))).toEqual(['swapped', 'swapped_view']);

    await replaceAtomically(wh, rel('swapped_view'), (tx) => tx.execute(d.createView(rel('swapped_view'), `SELECT v * 10 AS v FROM ${table('swapped')}`)));
    expect(server.queries.at(-2)?.sqlText).toMatch(/^CREATE OR REPLACE VIEW "CONFORMANCE"."SWAPPED_VIEW" AS/);
    expect(await wh.query(`SELECT v FROM ${table('swapped_view')} ORDER BY v`)).toEqual([{ v: 20 }, { v: 30 }]);
  });

  it('lists relations and columns, keeping exact-case names', async () => {
    const d = wh.dialect;
    await wh.execute(d.createTable(rel('rel_table'), [{ name: 'id', type: 'bigint' }, { name: 'we"ird', type: 'text' }, { name: 'CamelCase', type: 'timestamp' }]));
    await wh.execute(`INSERT INTO ${table('rel_table')} (id, ${d.quoteIdent('we"ird')}) VALUES (1, ${d.quoteString("o'k\\")})`);
    await wh.execute(d.createView(rel('rel_view'), `SELECT id FROM ${table('rel_table')};`));
    const listed = (await wh.relations(SCHEMA)).filter((r) => r.name.startsWith('rel_'));
    expect(listed).toEqual([
      { schema: SCHEMA, name: 'rel_table', kind: 'table' },
      { schema: SCHEMA, name: 'rel_view', kind: 'view' },
    ]);
    expect((await wh.columns(rel('rel_table'))).map((c) => c.name)).toEqual(['id', 'we"ird', 'CamelCase']);
    expect(await wh.query(`SELECT ${d.quoteIdent('we"ird')} AS w FROM ${table('rel_view')} JOIN ${table('rel_table')} USING (id)`)).toEqual([{ w: "o'k\\" }]);
    expect(await wh.relations('no_such_schema')).toEqual([]);
    expect(await wh.columns(rel('no_such_table'))).toEqual([]);
  });

  it('evaluates the dialect functions', async () => {
    const d = wh.dialect;
    const [row] = await wh.query(`SELECT ${d.sha256("'abc'")} AS abc, ${d.sha256('$1')} AS param,
      ${d.regexpMatches("'x@gmail.com'", d.quoteString('@(gmail|googlemail)\\.com$'))} AS gmail,
      ${d.regexpMatches("'gmailXcom'", d.quoteString('gmail\\.com'))} AS not_gmail,
      ${d.regexpMatches("'abc'", "'b'")} AS search,
      ${d.regexpReplace("'a-b-c'", "'-'", "''")} AS replaced,
      ${d.jsonObject([['a', '1'], ['b', 'NULL']])} AS obj,
      LENGTH(${d.newUuid()}) AS uuid_len,
      ${d.timestampMinus(d.cast("'2024-03-31 00:00:00'", 'timestamp'), 1, 'month')} AS month_ago,
      ${d.currentTimestamp()} AS now`, ['héllo wörld']);
    expect(row.abc).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(row.param).toBe(createHash('sha256').update('héllo wörld', 'utf8').digest('hex'));
    expect(row).toMatchObject({ gmail: true, not_gmail: false, search: true, replaced: 'abc', uuid_len: 36 });
    expect(JSON.parse(row.obj as string)).toEqual({ a: 1, b: null });
    expect(row.month_ago).toEqual(new Date('2024-02-29T00:00:00Z'));
    expect(Math.abs((row.now as Date).getTime() - Date.now())).toBeLessThan(60_000);

    const [ints] = await wh.query(`SELECT ${d.arrayAgg('x', 'x DESC')} AS a FROM (VALUES (CAST(3 AS BIGINT)), (CAST(1 AS BIGINT)), (CAST(3 AS BIGINT)), (NULL)) AS v(x)`);
    expect(ints).toStrictEqual({ a: [3, 1] });
    const [dates] = await wh.query(`SELECT ${d.arrayAgg(d.cast('x', 'date'), d.cast('x', 'date'))} AS a FROM (VALUES ('2024-02-01'), ('2023-12-31')) AS v(x)`);
    expect(dates).toStrictEqual({ a: ['2023-12-31', '2024-02-01'] });
  });

  it('tags statements that write a relation with the model they belong to', async () => {
    await buildTableAndSwap(wh, rel('tagged_model'), 'SELECT 1 AS v');
    const tags = server.queries.filter((q) => q.sqlText.includes('TAGGED_MODEL')).map((q) => q.queryTag);
    expect(tags.length).toBeGreaterThan(2);
    const writes = server.queries.filter((q) => /^(CREATE|ALTER|DROP)/.test(q.sqlText) && q.sqlText.includes('TAGGED_MODEL'));
    expect(new Set(writes.map((q) => q.queryTag))).toEqual(new Set([JSON.stringify({ app: 'composable-cdp', model: `${SCHEMA}.tagged_model` })]));
  });

  it('logs every session out on close', async () => {
    const other = await openWarehouse(target);
    await Promise.all([other.query('SELECT 1 AS a'), other.query('SELECT 2 AS a')]);
    const open = server.openSessions();
    const deletedBefore = server.deletedSessions.length;
    await other.close();
    expect(server.deletedSessions.length - deletedBefore).toBe(2);
    expect(server.openSessions()).toBe(open - 2);
    await other.close();
  });
});

describe('snowflake build', () => {
  it('builds a seed, a view and a table end to end', async () => {
    process.env.SF_PW = PASSWORD;
    const project = makeProject({
      'cdp.config.yaml':
        `name: sf_project\ntarget: sf\ntargets:\n  sf:\n    type: snowflake\n    account: test\n    user: u\n    password: \${env:SF_PW}\n` +
        `    database: DB\n    schema: analytics\n    warehouse: WH\n    access_url: ${server.url}\nschema: analytics\nthreads: 2\n`,
      'seeds/raw_people.csv': 'id,email,score\n1, Ada@X.com ,1.5\n2,bob@y.org,\n3,,7\n',
      'models/stg_people.sql': 'select id, lower(trim(email)) as email, score from {{ref "raw_people"}}',
      'models/people_summary.sql': '{{config materialized="table"}}\nselect count(*) as people, count(email) as with_email, sum(score) as total_score from {{ref "stg_people"}}',
      'models/schema.yml': 'models:\n  - name: stg_people\n    columns:\n      - name: id\n        tests: [unique, not_null]\n',
    });
    try {
      const outcome = await runCommand({ command: 'build', projectDir: project, out: { write: () => true } as unknown as NodeJS.WritableStream });
      expect(outcome.summary.results.map((r) => `${r.name}:${r.status}:${r.message}`).sort()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^people_summary:success/), expect.stringMatching(/^raw_people:success/), expect.stringMatching(/^stg_people:success/)]),
      );
      expect(outcome.exitCode).toBe(0);
      const wh = await openWarehouse(target);
      try {
        expect(await wh.query('select people, with_email, total_score from analytics.people_summary')).toEqual([{ people: 3, with_email: 2, total_score: 8.5 }]);
        expect(await wh.query('select id, email from analytics.stg_people order by id')).toEqual([
          { id: 1, email: 'ada@x.com' },
          { id: 2, email: 'bob@y.org' },
          { id: 3, email: null },
        ]);
      } finally {
        await wh.close();
      }
    } finally {
      removeProject(project);
    }
  }, 60_000);
});
