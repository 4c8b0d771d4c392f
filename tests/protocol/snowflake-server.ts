/**
 * A local Snowflake endpoint for tests: a node `http` server on 127.0.0.1 that speaks the REST
 * protocol snowflake-sdk uses, backed by an in-memory DuckDB. The real client library (and our
 * adapter on top of it) connect to it through `accessUrl: server.url`; nothing leaves the host.
 *
 * Protocol covered:
 * - POST /session/v1/login-request: password (AUTHENTICATOR SNOWFLAKE) and key-pair
 *   (SNOWFLAKE_JWT, RS256 token checked against the user's public key and fingerprint) logins.
 *   Wrong credentials answer 390100 (or 390144 for a bad JWT); a role the user may not use
 *   answers 390189. As in Snowflake, an unknown database or warehouse does not fail the login:
 *   the session simply has none (CURRENT_DATABASE() is NULL).
 * - POST /queries/v1/query-request: one statement per request, with `bindings` and statement
 *   `parameters` (QUERY_TAG is recorded). Results: rowtype + rowset; results longer than
 *   `inlineRows` are served through `chunks` (GET /chunks/<query>/<n>, rows without the outer
 *   brackets, checked against `chunkHeaders`) with `returned` = total, so the client's chunk
 *   download is exercised. DML answers with its row count; SQL errors answer success:false with
 *   a Snowflake-style code and SQLSTATE.
 * - POST /session?delete=true (recorded in `deletedSessions`), /telemetry/send, /session/heartbeat.
 * - Transactions per session (one DuckDB connection each): BEGIN/COMMIT/ROLLBACK; DDL inside a
 *   transaction first commits it and then runs on its own, as Snowflake's DDL does.
 * - Stages: `PUT file://<path> @~/<prefix>/` (user stage) or `@%<table>/` (table stage) answers the
 *   way Snowflake does, with `command: "UPLOAD"`, `src_locations` and `stageInfo`, but with the
 *   `LOCAL_FS` location type that snowflake-sdk supports for tests: the driver itself copies the
 *   file into a directory of this server (no cloud storage, no encryption). `COPY INTO` reads
 *   the staged CSV files (gzip or plain) into the table with DuckDB's read_csv, one transaction
 *   for all files, and answers with one row per file (file, status, rows_parsed, rows_loaded, ...);
 *   `PURGE = TRUE` and `REMOVE @stage/<prefix>` delete staged files. A user's `stageAccess`
 *   makes PUT fail on the server (`denied`) or in the driver's upload (`unreachable`). Load
 *   metadata (skipping files loaded before) is not emulated.
 *
 * The SQL subset translated to DuckDB is documented in snowflake-sql.ts.
 */
import { createHash, createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DuckDBArrayValue,
  DuckDBDateValue,
  DuckDBDecimalType,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { DUCKDB_MACROS, translate, TranslationError, type Bind, type CopyPlan, type SessionValues, type StageRef, type StatementKind } from './snowflake-sql.js';

export interface SnowflakeUser {
  password?: string;
  /** PEM public key for key-pair (JWT) logins. */
  publicKey?: string;
  /** Roles the user may use; any role when omitted. */
  roles?: string[];
  /**
   * `denied`: PUT fails with Snowflake's access-control error. `unreachable`: PUT succeeds on the
   * server but names a stage location the driver cannot write, standing in for cloud storage the
   * client cannot reach. Default `ok`.
   */
  stageAccess?: 'ok' | 'denied' | 'unreachable';
}

export interface SnowflakeServerOptions {
  account?: string;
  users?: Record<string, SnowflakeUser>;
  databases?: string[];
  warehouses?: string[];
  /** Rows sent inline in the first response; the rest go through chunks. */
  inlineRows?: number;
  chunkRows?: number;
}

export interface RecordedQuery {
  sessionId: number;
  sqlText: string;
  queryTag: string | null;
  bindCount: number;
  error?: string;
  /** COPY INTO: the files it loaded (its answer has one row per file). */
  loadedFiles?: string[];
}

export interface SnowflakeServer {
  url: string;
  queries: RecordedQuery[];
  logins: { user: string; ok: boolean; authenticator: string; database?: string; warehouse?: string; role?: string; schema?: string }[];
  deletedSessions: number[];
  chunkRequests: { url: string; authorization?: string; chunkKey?: string }[];
  /** Sessions currently open (logged in and not deleted). */
  openSessions(): number;
  /** Files currently staged, as `user/<USER>/<path>` or `table/<TABLE>/<path>`. */
  stagedFiles(): string[];
  /** Runs SQL directly on the backing DuckDB (for test set-up and checks). */
  duck(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

interface Session {
  id: number;
  user: SnowflakeUser;
  token: string;
  values: SessionValues;
  conn: DuckDBConnection;
  inTransaction: boolean;
  queryTag: string | null;
  /** Serialises statements: a DuckDB connection runs one at a time. */
  queue: Promise<unknown>;
}

interface Column {
  name: string;
  type: string;
  precision: number | null;
  scale: number | null;
  nullable: boolean;
  length: number | null;
  byteLength: number | null;
}

const CHUNK_KEY = 'local-chunk-key';

const STATEMENT_TYPES: Record<StatementKind, number> = {
  select: 0x1000,
  insert: 0x3100,
  update: 0x3200,
  delete: 0x3300,
  merge: 0x3400,
  ddl: 0x6000,
  swap: 0x6000,
  begin: 0x5000,
  commit: 0x5000,
  rollback: 0x5000,
  session: 0x4000,
  copy: 0x3600,
  // File commands (PUT/GET/REMOVE/LIST); the driver builds PUT's result itself.
  put: 0x7000,
  remove: 0x7000,
};

export async function startSnowflakeServer(options: SnowflakeServerOptions = {}): Promise<SnowflakeServer> {
  const account = options.account ?? 'test';
  const users = options.users ?? { u: { password: 'pw' } };
  const databases = (options.databases ?? ['DB']).map((d) => d.toUpperCase());
  const warehouses = (options.warehouses ?? ['WH']).map((w) => w.toUpperCase());
  const inlineRows = options.inlineRows ?? 1000;
  const chunkRows = options.chunkRows ?? 4000;

  const instance = await DuckDBInstance.create(':memory:');
  const stageRoot = mkdtempSync(path.join(tmpdir(), 'cdp-sf-stages-'));
  const admin = await instance.connect();
  const sessions = new Map<string, Session>();
  const chunks = new Map<string, string>();
  let nextSessionId = 1000;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      send(res, 500, { success: false, message: err instanceof Error ? err.message : String(err) });
    });
  });

  const state: SnowflakeServer = {
    url: '',
    queries: [],
    logins: [],
    deletedSessions: [],
    chunkRequests: [],
    openSessions: () => sessions.size,
    stagedFiles: () => filesUnder(stageRoot).map((f) => path.relative(stageRoot, f).split(path.sep).join('/')),
    duck: async (sql) => {
      const reader = await admin.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sessions.values()) s.conn.closeSync();
      sessions.clear();
      admin.closeSync();
      instance.closeSync();
      rmSync(stageRoot, { recursive: true, force: true });
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname.startsWith('/chunks/')) {
      state.chunkRequests.push({ url: url.pathname, authorization: req.headers.authorization, chunkKey: req.headers['x-local-chunk-key'] as string | undefined });
      const body = chunks.get(url.pathname);
      if (!body || req.headers['x-local-chunk-key'] !== CHUNK_KEY) {
        res.writeHead(403).end('chunk not found or wrong key');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(body);
      return;
    }
    const body = await readBody(req);
    if (url.pathname === '/session/v1/login-request') return login(url, body, res);
    if (url.pathname === '/telemetry/send') return send(res, 200, { success: true });
    const session = sessionOf(req);
    if (!session) {
      return send(res, 200, { success: false, code: '390104', message: 'Authentication token has expired.  The user must authenticate again.', data: null });
    }
    if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      sessions.delete(session.token);
      state.deletedSessions.push(session.id);
      await session.queue.catch(() => undefined);
      session.conn.closeSync();
      return send(res, 200, { success: true, data: null });
    }
    if (url.pathname === '/session/heartbeat') return send(res, 200, { success: true, data: null });
    if (url.pathname === '/queries/v1/query-request') {
      const run = session.queue.then(() => query(session, body as QueryBody));
      session.queue = run.catch(() => undefined);
      return send(res, 200, await run);
    }
    send(res, 404, { success: false, message: `not served by the local endpoint: ${req.method} ${url.pathname}` });
  }

  function sessionOf(req: IncomingMessage): Session | undefined {
    const m = /Snowflake Token="([^"]+)"/.exec(req.headers.authorization ?? '');
    return m ? sessions.get(m[1]) : undefined;
  }

  async function login(url: URL, body: unknown, res: ServerResponse): Promise<void> {
    const data = ((body as { data?: Record<string, unknown> })?.data ?? {}) as Record<string, string>;
    const userName = data.LOGIN_NAME ?? '';
    const user = users[userName] ?? users[userName.toLowerCase()];
    const authenticator = (data.AUTHENTICATOR ?? 'SNOWFLAKE').toUpperCase();
    const q = url.searchParams;
    const record = { user: userName, ok: false, authenticator, database: q.get('databaseName') ?? undefined, warehouse: q.get('warehouse') ?? undefined, role: q.get('roleName') ?? undefined, schema: q.get('schemaName') ?? undefined };
    state.logins.push(record);
    const fail = (code: string, message: string) => send(res, 200, { success: false, code, message, data: { nextAction: 'RETRY_LOGIN', authnMethod: authenticator } });

    if (String(data.ACCOUNT_NAME ?? '').toLowerCase() !== account.toLowerCase() || !user) {
      return fail('390100', 'Incorrect username or password was specified.');
    }
    if (authenticator === 'SNOWFLAKE_JWT') {
      if (!user.publicKey || !jwtValid(String(data.TOKEN ?? ''), createPublicKey(user.publicKey), account, userName)) {
        return fail('390144', 'JWT token is invalid.');
      }
    } else if (user.password === undefined || data.PASSWORD !== user.password) {
      return fail('390100', 'Incorrect username or password was specified.');
    }
    const role = q.get('roleName');
    if (role && user.roles && !user.roles.map((r) => r.toUpperCase()).includes(role.toUpperCase())) {
      return fail('390189', `Role '${role.toUpperCase()}' specified in the connect string does not exist or not authorized. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC.`);
    }
    record.ok = true;
    const database = q.get('databaseName');
    const warehouse = q.get('warehouse');
    const schema = q.get('schemaName');
    const values: SessionValues = {
      account,
      user: userName.toUpperCase(),
      role: (role ?? 'PUBLIC').toUpperCase(),
      database: database && databases.includes(fold(database)) ? fold(database) : null,
      warehouse: warehouse && warehouses.includes(fold(warehouse)) ? fold(warehouse) : null,
      schema: schema ? fold(schema) : null,
    };
    const conn = await instance.connect();
    await conn.run(`SET TimeZone = 'UTC'`);
    for (const macro of DUCKDB_MACROS) await conn.run(macro);
    const session: Session = { id: nextSessionId++, user, token: randomUUID(), values, conn, inTransaction: false, queryTag: null, queue: Promise.resolve() };
    sessions.set(session.token, session);
    send(res, 200, {
      success: true,
      code: null,
      message: null,
      data: {
        token: session.token,
        masterToken: randomUUID(),
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        sessionId: session.id,
        serverVersion: '9.99.0',
        parameters: [
          { name: 'TIMEZONE', value: 'UTC' },
          { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
        ],
        sessionInfo: { databaseName: values.database, schemaName: values.schema, warehouseName: values.warehouse, roleName: values.role },
      },
    });
  }

  interface QueryBody {
    sqlText: string;
    bindings?: Record<string, Bind>;
    parameters?: Record<string, unknown>;
  }

  async function query(session: Session, body: QueryBody): Promise<object> {
    const queryId = randomUUID();
    const tag = body.parameters?.QUERY_TAG;
    const recorded: RecordedQuery = {
      sessionId: session.id,
      sqlText: body.sqlText,
      queryTag: typeof tag === 'string' ? tag : session.queryTag,
      bindCount: Object.keys(body.bindings ?? {}).length,
    };
    state.queries.push(recorded);
    try {
      const translated = translate(body.sqlText, body.bindings, session.values);
      switch (translated.kind) {
        case 'begin':
          if (!session.inTransaction) await session.conn.run('BEGIN TRANSACTION');
          session.inTransaction = true;
          return statusResult(queryId, translated.kind, 'Statement executed successfully.');
        case 'commit':
        case 'rollback':
          if (session.inTransaction) await session.conn.run(translated.kind === 'commit' ? 'COMMIT' : 'ROLLBACK');
          session.inTransaction = false;
          return statusResult(queryId, translated.kind, 'Statement executed successfully.');
        case 'session':
          if (translated.queryTag !== undefined) session.queryTag = translated.queryTag;
          return statusResult(queryId, translated.kind, 'Statement executed successfully.');
        case 'put': {
          const { source, stage, options: opts } = translated.put!;
          if (session.user.stageAccess === 'denied') {
            throw new TranslationError(`SQL access control error:\nInsufficient privileges to operate on stage '${stageLabel(stage)}'`, '003001', '42501');
          }
          const flag = (key: string, fallback: boolean) => (opts[key] === undefined ? fallback : /^true$/i.test(opts[key]));
          return {
            success: true,
            data: {
              command: 'UPLOAD',
              src_locations: [source],
              parallel: Number(opts.PARALLEL ?? 4),
              autoCompress: flag('AUTO_COMPRESS', true),
              overwrite: flag('OVERWRITE', false),
              sourceCompression: (opts.SOURCE_COMPRESSION ?? 'auto_detect').toLowerCase(),
              clientShowEncryptionParameter: false,
              encryptionMaterial: null,
              presignedUrl: null,
              presignedUrls: [],
              stageInfo: {
                locationType: 'LOCAL_FS',
                location: session.user.stageAccess === 'unreachable' ? '/dev/null/unreachable-stage' : stageDir(session, stage),
                path: stage.path,
                region: null,
                storageAccount: null,
                isClientSideEncrypted: false,
                creds: {},
                endPoint: null,
              },
              queryId,
              statementTypeId: STATEMENT_TYPES.put,
              rowtype: [],
              rowset: [],
              parameters: [],
            },
          };
        }
        case 'remove': {
          const removed = stagedUnder(session, translated.stage!);
          for (const file of removed) rmSync(file, { force: true });
          return {
            success: true,
            data: {
              rowtype: [column('name', 'text', null, null), column('result', 'text', null, null)],
              rowset: removed.map((f) => [path.relative(stageRoot, f).split(path.sep).join('/'), 'removed']),
              total: removed.length,
              returned: removed.length,
              queryId,
              statementTypeId: STATEMENT_TYPES.remove,
              version: 1,
              queryResultFormat: 'json',
              parameters: [],
            },
          };
        }
        case 'copy':
          return await copyInto(session, queryId, translated.copy!, recorded);
        case 'ddl':
        case 'swap':
          // Snowflake DDL commits the open transaction and then runs in a transaction of its own.
          if (session.inTransaction) {
            await session.conn.run('COMMIT');
            session.inTransaction = false;
          }
          if (translated.sql.length > 1) {
            await session.conn.run('BEGIN TRANSACTION');
            try {
              for (const sql of translated.sql) await session.conn.run(sql);
              await session.conn.run('COMMIT');
            } catch (err) {
              await session.conn.run('ROLLBACK').catch(() => undefined);
              throw err;
            }
          } else {
            await session.conn.run(translated.sql[0]);
          }
          return statusResult(queryId, translated.kind, 'Statement executed successfully.');
        default: {
          if (translated.kind !== 'select') {
            const result = await session.conn.run(translated.sql[0]);
            const n = Number(result.rowsChanged);
            return {
              success: true,
              data: {
                rowtype: [column(dmlColumnName(translated.kind), 'fixed', 19, 0)],
                rowset: [[String(n)]],
                total: 1,
                returned: 1,
                queryId,
                statementTypeId: STATEMENT_TYPES[translated.kind],
                version: 1,
                queryResultFormat: 'json',
                parameters: [],
              },
            };
          }
          const reader = await session.conn.runAndReadAll(translated.sql[0]);
          return rowsResult(queryId, reader.columnNames(), reader.columnTypes(), reader.getRows());
        }
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      recorded.error = message;
      // A failed statement aborts a DuckDB transaction but not a Snowflake one; keep going.
      const { code, sqlState } = errorCodeOf(err, message);
      // Snowflake names the kind of error first (compilation, access control, ...).
      const text = /^SQL [a-z ]+ error:/.test(message) ? message : `SQL compilation error:\n${message}`;
      return { success: false, code, message: text, data: { queryId, sqlState, errorCode: code, internalError: false, age: 0 } };
    }
  }

  /** Where a stage (and path prefix) lives on disk. */
  function stageDir(session: Session, stage: StageRef): string {
    const area = stage.area === 'user' ? path.join(stageRoot, 'user', session.values.user) : path.join(stageRoot, 'table', stage.table);
    return path.join(area, ...stage.path.split('/').filter(Boolean));
  }

  /** Staged files whose path starts with the stage reference's path (a prefix, as in Snowflake). */
  function stagedUnder(session: Session, stage: StageRef): string[] {
    const area = stageDir(session, { ...stage, path: '' });
    return filesUnder(area).filter((f) => path.relative(area, f).split(path.sep).join('/').startsWith(stage.path));
  }

  async function copyInto(session: Session, queryId: string, plan: CopyPlan, recorded: RecordedQuery): Promise<object> {
    const files = stagedUnder(session, plan.stage).sort();
    recorded.loadedFiles = files.map((f) => path.basename(f));
    const f = plan.format;
    // Without a column list or a transformation, a record has one field per table column.
    const width = plan.fileColumns || (await session.conn.runAndReadAll(`SELECT * FROM ${plan.target} LIMIT 0`)).columnCount;
    const names = Array.from({ length: width }, (_, i) => `$${i + 1}`);
    const reader = (file: string) =>
      `read_csv(${duckString(file)}, header = false, auto_detect = false, skip = ${f.skipHeader}, delim = ${duckString(f.delimiter)}, ` +
      `quote = ${duckString(f.enclosedBy ?? '')}, escape = ${duckString(f.enclosedBy ?? '')}, allow_quoted_nulls = false, ` +
      `nullstr = [${['', ...f.nullIf].map(duckString).join(', ')}], compression = ${duckString(f.compression)}, strict_mode = true, ` +
      `columns = {${names.map((n) => `${duckString(n)}: 'VARCHAR'`).join(', ')}})`;
    const select = (plan.expressions ?? names.map((n) => `"${n}"`)).join(', ');
    const into = `${plan.target}${plan.columns.length ? ` (${plan.columns.join(', ')})` : ''}`;
    const own = !session.inTransaction;
    const loaded: number[] = [];
    if (own) await session.conn.run('BEGIN TRANSACTION');
    try {
      for (const file of files) {
        const result = await session.conn.run(`INSERT INTO ${into} SELECT ${select} FROM ${reader(file)}`);
        loaded.push(Number(result.rowsChanged));
      }
      if (own) await session.conn.run('COMMIT');
    } catch (err) {
      if (own) await session.conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    if (plan.purge) for (const file of files) rmSync(file, { force: true });
    const fixed = (name: string) => column(name, 'fixed', 19, 0);
    const text = (name: string) => column(name, 'text', null, null);
    const rowset = files.map((file, n) => [
      path.relative(stageRoot, file).split(path.sep).join('/'),
      'LOADED',
      String(loaded[n]),
      String(loaded[n]),
      '1',
      '0',
      null,
      null,
      null,
      null,
    ]);
    return {
      success: true,
      data: {
        rowtype: files.length
          ? [text('file'), text('status'), fixed('rows_parsed'), fixed('rows_loaded'), fixed('error_limit'), fixed('errors_seen'), text('first_error'), fixed('first_error_line'), fixed('first_error_character'), text('first_error_column_name')]
          : [text('status')],
        rowset: files.length ? rowset : [['Copy executed with 0 files processed.']],
        total: Math.max(1, files.length),
        returned: Math.max(1, files.length),
        queryId,
        statementTypeId: STATEMENT_TYPES.copy,
        version: 1,
        queryResultFormat: 'json',
        parameters: [],
      },
    };
  }

  function rowsResult(queryId: string, names: string[], types: DuckDBType[], rows: DuckDBValue[][]): object {
    const columns = names.map((name, i) => columnOf(name, types[i]));
    const encoded = rows.map((row) => row.map((v, i) => encode(v, types[i])));
    const inline = encoded.slice(0, inlineRows);
    const chunkList: { url: string; rowCount: number; uncompressedSize: number; compressedSize: number }[] = [];
    for (let start = inlineRows, n = 0; start < encoded.length; start += chunkRows, n++) {
      const path = `/chunks/${queryId}/${n}`;
      const part = encoded.slice(start, start + chunkRows);
      const text = JSON.stringify(part).slice(1, -1);
      chunks.set(path, text);
      chunkList.push({ url: `${state.url}${path}`, rowCount: part.length, uncompressedSize: text.length, compressedSize: text.length });
    }
    return {
      success: true,
      data: {
        rowtype: columns,
        rowset: inline,
        total: encoded.length,
        returned: encoded.length,
        queryId,
        statementTypeId: STATEMENT_TYPES.select,
        version: 1,
        queryResultFormat: 'json',
        parameters: [],
        ...(chunkList.length ? { chunks: chunkList, chunkHeaders: { 'x-local-chunk-key': CHUNK_KEY } } : {}),
      },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

function stageLabel(stage: StageRef): string {
  return stage.area === 'user' ? '~' : `%${stage.table}`;
}

function duckString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function statusResult(queryId: string, kind: StatementKind, status: string): object {
  return {
    success: true,
    data: {
      rowtype: [column('status', 'text', null, null)],
      rowset: [[status]],
      total: 1,
      returned: 1,
      queryId,
      statementTypeId: STATEMENT_TYPES[kind],
      version: 1,
      queryResultFormat: 'json',
      parameters: [],
    },
  };
}

function dmlColumnName(kind: StatementKind): string {
  return kind === 'insert' ? 'number of rows inserted' : kind === 'update' ? 'number of rows updated' : kind === 'delete' ? 'number of rows deleted' : 'number of rows merged';
}

function column(name: string, type: string, precision: number | null, scale: number | null): Column {
  return { name, type, precision, scale, nullable: true, length: type === 'text' ? 16777216 : null, byteLength: type === 'text' ? 16777216 : null };
}

function columnOf(name: string, type: DuckDBType): Column {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return column(name, 'boolean', null, null);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return column(name, 'fixed', 38, 0);
    case DuckDBTypeId.DECIMAL: {
      const d = type as DuckDBDecimalType;
      return column(name, 'fixed', d.width, d.scale);
    }
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return column(name, 'real', null, null);
    case DuckDBTypeId.DATE:
      return column(name, 'date', null, null);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return column(name, 'timestamp_ntz', null, 9);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return column(name, 'timestamp_tz', null, 9);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return column(name, 'array', null, null);
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return column(name, 'object', null, null);
    default:
      return column(name, type.alias === 'JSON' ? 'variant' : 'text', null, null);
  }
}

/** A DuckDB value in Snowflake's JSON result encoding (everything is text or null). */
function encode(value: DuckDBValue, type: DuckDBType): string | null {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return value ? 'true' : 'false';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE: {
      const n = value as number;
      return Number.isNaN(n) ? 'NaN' : n === Infinity ? 'inf' : n === -Infinity ? '-inf' : String(n);
    }
    case DuckDBTypeId.DATE:
      return String((value as DuckDBDateValue).days);
    case DuckDBTypeId.TIMESTAMP:
      return epochText((value as DuckDBTimestampValue).micros);
    case DuckDBTypeId.TIMESTAMP_TZ:
      // Result version 1 carries the zone as minutes + 1440 after the value; UTC is 1440.
      return `${epochText((value as DuckDBTimestampTZValue).micros)} 1440`;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return jsonText(value);
    default:
      return typeof value === 'object' ? String(value) : String(value);
  }
}

function epochText(micros: bigint): string {
  const seconds = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
  const fraction = micros - seconds * 1_000_000n;
  return `${seconds}.${String(fraction).padStart(6, '0')}000`;
}

function jsonText(value: DuckDBValue): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return `[${value.items.map(jsonText).join(',')}]`;
  if (value instanceof DuckDBStructValue) return `{${Object.entries(value.entries).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  if (value instanceof DuckDBMapValue) return `{${value.entries.map((e) => `${JSON.stringify(String(e.key))}:${jsonText(e.value)}`).join(',')}}`;
  if (value instanceof DuckDBDecimalValue) return value.toString();
  return JSON.stringify(String(value));
}

function errorCodeOf(err: unknown, message: string): { code: string; sqlState: string } {
  if (err instanceof TranslationError) return { code: err.code, sqlState: err.sqlState };
  if (/^Catalog Error/.test(message)) return { code: '002003', sqlState: '42S02' };
  if (/^Parser Error/.test(message)) return { code: '001003', sqlState: '42000' };
  if (/^(Conversion|Invalid Input) Error/.test(message)) return { code: '100038', sqlState: '22018' };
  if (/^Constraint Error/.test(message)) return { code: '100072', sqlState: '22000' };
  if (/^Binder Error/.test(message)) return { code: '000904', sqlState: '42000' };
  return { code: '000603', sqlState: 'XX000' };
}

function fold(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name.toUpperCase() : name;
}

/** Checks an RS256 JWT as Snowflake does: signature, issuer `ACCOUNT.USER.SHA256:<fingerprint>`, expiry. */
function jwtValid(token: string, key: KeyObject, account: string, user: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const [header, payload, signature] = parts;
  const ok = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'));
  if (!ok) return false;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: string; sub?: string; exp?: number };
  const fingerprint = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64');
  const subject = `${account.toUpperCase()}.${user.toUpperCase()}`;
  return claims.sub === subject && claims.iss === `${subject}.SHA256:${fingerprint}` && (claims.exp ?? 0) * 1000 > Date.now();
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  let buf = Buffer.concat(parts);
  if (buf.length === 0) return {};
  if (req.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
  return JSON.parse(buf.toString('utf8'));
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
