/**
 * Snowflake through snowflake-sdk: a pool of sessions (one sdk Connection each), password or
 * key-pair login, `$n` parameters as numbered binds, results normalised as `Row`, streaming
 * through the driver's row stream, bulk loads through a stage (PUT + COPY INTO) or, for small
 * loads and where PUT is refused, batched INSERTs, and a query tag on every statement that
 * writes a relation, naming the model it belongs to.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { debuglog } from 'node:util';
import type { ConnectionOptions } from 'snowflake-sdk';
import { CdpError } from '../../../src/errors.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../../src/warehouse/types.js';
import { InsertBatcher, RowEncoder } from './bulk.js';
import { SnowflakeDialect } from './dialect.js';
import { connectionError, describeEndpoint, missingObjectError, type SnowflakeEndpoint } from './errors.js';
import { reportedName, storedName } from './names.js';
import { SessionPool, SnowflakeSession, type StatementOptions } from './session.js';
import { copyStatement, putStatement, removeStatement, StagedFiles, stageLocation, type EncodedRow } from './stage.js';
import { SwapCoalescer } from './swap.js';
import { toBinds, toNumberedBinds } from './values.js';

export interface SnowflakeOptions {
  account?: string;
  user?: string;
  password?: string;
  /** PEM private key file for key-pair (JWT) login; used instead of a password. */
  privateKeyPath?: string;
  privateKeyPassphrase?: string;
  role?: string;
  warehouse?: string;
  database?: string;
  schema?: string;
  /** A full endpoint URL instead of `<account>.snowflakecomputing.com` (tests, private links). */
  accessUrl?: string;
  /** Sessions kept for concurrent statements. */
  sessions?: number;
  /** Bulk loads of at least this many rows go through a stage (PUT + COPY INTO); smaller ones use INSERTs. */
  stageMinRows?: number;
  /** Rows per staged CSV file (default 500,000): larger loads are split so COPY INTO can load files in parallel. */
  stageFileRows?: number;
  /** Where debug lines go (default: `NODE_DEBUG=cdp`). */
  debug?: (message: string) => void;
}

const DEFAULT_BATCH_SIZE = 5000;
/**
 * PUT, COPY INTO and REMOVE are three statements plus the upload, about what five 1,000-row
 * INSERTs cost; below that the INSERTs are as quick and need no temporary files.
 */
export const DEFAULT_STAGE_MIN_ROWS = 5000;
const DEFAULT_SESSIONS = 4;
const APP = 'composable-cdp';

type Sdk = typeof import('snowflake-sdk');
let sdkLoading: Promise<Sdk> | undefined;

/** snowflake-sdk, loaded once, with its log file and the AWS SDK's Node-version notice turned off. */
function loadSdk(): Promise<Sdk> {
  sdkLoading ??= (async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const mod = await import('snowflake-sdk');
    const sdk = ((mod as { default?: Sdk }).default ?? mod) as Sdk;
    sdk.configure({ logLevel: 'OFF' });
    return sdk;
  })();
  return sdkLoading;
}

export class SnowflakeWarehouse implements Warehouse {
  readonly dialect = new SnowflakeDialect();
  readonly type = 'snowflake';
  private closed = false;

  private constructor(
    private readonly pool: SessionPool,
    private readonly endpoint: SnowflakeEndpoint,
    private readonly stageMinRows: number,
    private readonly stageFileRows: number | undefined,
    private readonly debug: (message: string) => void,
  ) {}

  static async open(opts: SnowflakeOptions): Promise<SnowflakeWarehouse> {
    const endpoint = endpointOf(opts);
    const sdk = await loadSdk();
    const options = await connectionOptions(opts, endpoint);
    const openSession = async () => {
      try {
        return await SnowflakeSession.open(sdk, options, endpoint.secrets);
      } catch (err) {
        throw connectionError(err, endpoint);
      }
    };
    // Log in now, so wrong credentials or a missing database fail before any model runs.
    const first = await openSession();
    try {
      await checkContext(first, endpoint);
    } catch (err) {
      await first.destroy();
      throw err;
    }
    const pool = new SessionPool(Math.max(1, opts.sessions ?? DEFAULT_SESSIONS), openSession);
    pool.adopt(first);
    return new SnowflakeWarehouse(pool, endpoint, Math.max(1, opts.stageMinRows ?? DEFAULT_STAGE_MIN_ROWS), opts.stageFileRows, opts.debug ?? debuglog('cdp'));
  }

  async ping(): Promise<string> {
    const [row] = await this.query<{ v: string }>('SELECT CURRENT_VERSION() AS "v"');
    return `Snowflake ${row.v}`;
  }

  execute(sql: string, params?: unknown[]): Promise<void> {
    return this.pool.use(async (s) => {
      await s.execute(...statement(sql, params));
    });
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.pool.use(async (s) => (await s.query(...statement(sql, params))) as T[]);
  }

  async *stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<T[]> {
    // The session is held until the iteration ends, however it ends.
    const session = await this.pool.acquire();
    try {
      const [text, opts] = statement(sql, params);
      for await (const batch of session.stream(text, opts, batchSize)) yield batch as T[];
    } finally {
      this.pool.release(session);
    }
  }

  /**
   * Every value is encoded and checked before anything is sent. Loads of `stageMinRows` or more
   * rows are written to gzip'd CSV files, PUT to the user stage and loaded by one COPY INTO
   * (atomic: ON_ERROR = ABORT_STATEMENT); smaller loads, and loads whose PUT fails, go as batched
   * INSERTs in one transaction. Either way a bad value or a failed statement loads nothing.
   */
  async bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    const where = `${table.schema}.${table.name}`;
    const encoder = new RowEncoder(columns, where);
    const input = rows[Symbol.asyncIterator]();
    const head: EncodedRow[] = [];
    let exhausted = false;
    while (head.length < this.stageMinRows) {
      const next = await input.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      for (const row of next.value) head.push(encoder.encode(row, head.length));
    }
    if (exhausted) return this.pool.use((s) => this.insertRows(s, table, columns, once(head)));

    const files = await StagedFiles.create(this.stageFileRows);
    try {
      await files.write(head);
      head.length = 0;
      for (let next = await input.next(); !next.done; next = await input.next()) {
        const offset = files.rows;
        await files.write(next.value.map((row, i) => encoder.encode(row, offset + i)));
      }
      await files.finish();
      return await this.pool.use((s) => this.loadThroughStage(s, table, columns, files));
    } finally {
      await files.dispose();
    }
  }

  private async loadThroughStage(s: SnowflakeSession, table: Relation, columns: ColumnSpec[], files: StagedFiles): Promise<number> {
    const d = this.dialect;
    const queryTag = tagFor(table);
    const location = stageLocation();
    const removeStaged = () => s.execute(removeStatement(location), { queryTag }).catch(() => undefined);
    let uploaded: Record<string, unknown>[] = [];
    try {
      uploaded = await putKeepingUmask(() => s.query(putStatement(files, location, d), { queryTag }));
      const failed = uploaded.find((r) => r.status !== 'UPLOADED');
      if (uploaded.length === 0 || failed) throw new Error(`PUT did not upload ${String(failed?.source ?? 'the files')}: ${String(failed?.message ?? failed?.status ?? 'no files')}`);
    } catch (err) {
      // Part of the files may have arrived before the failure.
      if (uploaded.length > 0) await removeStaged();
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      this.debug(`snowflake: PUT to the user stage failed (${reason}); loading ${table.schema}.${table.name} with batched INSERTs instead`);
      return this.insertRows(s, table, columns, files.read(new InsertBatcher(d, columns).rowsPerStatement));
    }
    try {
      const result = await s.query(copyStatement(d.relation(table), columns, location, d), { queryTag });
      const loaded = result.reduce((n, r) => n + Number(r.rows_loaded ?? 0), 0);
      if (loaded !== files.rows) {
        throw new CdpError(`COPY INTO ${table.schema}.${table.name} loaded ${loaded} of ${files.rows} staged rows`, {
          hint: 'Check the COPY result in the query history.',
        });
      }
      return loaded;
    } finally {
      // PURGE removes the files after a successful load; this also covers a failed one.
      await removeStaged();
    }
  }

  /** Batched INSERTs in one transaction on one session. */
  private async insertRows(s: SnowflakeSession, table: Relation, columns: ColumnSpec[], batches: AsyncIterable<EncodedRow[]>): Promise<number> {
    const batcher = new InsertBatcher(this.dialect, columns);
    const target = this.dialect.relation(table);
    const queryTag = tagFor(table);
    await s.execute('BEGIN TRANSACTION');
    try {
      let count = 0;
      for await (const batch of batches) {
        for (let start = 0; start < batch.length; start += batcher.rowsPerStatement) {
          const slice = batch.slice(start, start + batcher.rowsPerStatement);
          await s.execute(batcher.statement(target, slice.length), { binds: batcher.binds(slice), queryTag });
          count += slice.length;
        }
      }
      await s.execute('COMMIT');
      return count;
    } catch (err) {
      await s.execute('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * BEGIN ... COMMIT on one session. DML rolls back; DDL does not (Snowflake commits it on the
   * spot), but a drop-then-replace of a relation is turned into an atomic SWAP WITH or
   * CREATE OR REPLACE VIEW (swap.ts).
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.pool.use(async (s) => {
      const swaps = new SwapCoalescer({ run: async (sql) => void (await s.execute(...statement(sql))) });
      // Every statement passes the coalescer, so a held DROP always runs before whatever follows it.
      const next = (sql: string) => swaps.before(sql);
      const tx: Executor = {
        execute: async (sql, params) => {
          const text = await next(sql);
          if (text !== undefined) await s.execute(...statement(text, params));
        },
        query: async <R extends Row = Row>(sql: string, params?: unknown[]) => {
          const text = await next(sql);
          return (text === undefined ? [] : await s.query(...statement(text, params))) as R[];
        },
      };
      await s.execute('BEGIN TRANSACTION');
      try {
        const result = await fn(tx);
        await swaps.flush();
        await s.execute('COMMIT');
        return result;
      } catch (err) {
        await s.execute('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async relations(schema: string): Promise<RelationInfo[]> {
    const rows = await this.query<{ name: string; type: string }>(
      `SELECT TABLE_NAME AS "name", TABLE_TYPE AS "type" FROM INFORMATION_SCHEMA.TABLES
       WHERE TABLE_SCHEMA = $1 AND TABLE_TYPE IN ('BASE TABLE', 'VIEW')`,
      [storedName(schema)],
    );
    return rows
      .map((r): RelationInfo => ({ schema, name: reportedName(r.name), kind: r.type === 'VIEW' ? 'view' : 'table' }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async columns(relation: Relation): Promise<ColumnInfo[]> {
    const rows = await this.query<{ name: string; type: string }>(
      `SELECT COLUMN_NAME AS "name", DATA_TYPE AS "type" FROM INFORMATION_SCHEMA.COLUMNS
       WHERE TABLE_SCHEMA = $1 AND TABLE_NAME = $2 ORDER BY ORDINAL_POSITION`,
      [storedName(relation.schema), storedName(relation.name)],
    );
    return rows.map((r) => ({ name: reportedName(r.name), dataType: r.type }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.closeAll();
  }

  /** Where this warehouse connects, without secrets (for messages). */
  describe(): string {
    return describeEndpoint(this.endpoint);
  }
}

/**
 * snowflake-sdk's local-directory stage type (only the test endpoint answers with it) sets the
 * process-wide umask to 0; the process keeps its own.
 */
async function putKeepingUmask<T>(put: () => Promise<T>): Promise<T> {
  const umask = process.umask();
  try {
    return await put();
  } finally {
    process.umask(umask);
  }
}

async function* once<T>(value: T): AsyncGenerator<T> {
  yield value;
}

/** SQL text and options for the driver: `$n` -> `:n` when there are parameters, and the query tag. */
function statement(sql: string, params?: unknown[]): [string, StatementOptions] {
  const binds = toBinds(params);
  return [binds ? toNumberedBinds(sql) : sql, { binds, queryTag: tagForSql(sql) }];
}

const WRITES = /^\s*(?:CREATE(?: OR REPLACE)?(?: TRANSIENT)? (?:TABLE|VIEW)(?: IF NOT EXISTS)?|DROP (?:TABLE|VIEW)(?: IF EXISTS)?|ALTER (?:TABLE|VIEW)|INSERT INTO|MERGE INTO|DELETE FROM|UPDATE)\s+"((?:[^"]|"")*)"\."((?:[^"]|"")*)"/i;

/** `{"app":"composable-cdp","model":"schema.name"}` for statements that write a model's relation (staging names included). */
function tagForSql(sql: string): string {
  const m = WRITES.exec(sql);
  if (!m) return JSON.stringify({ app: APP });
  const unquote = (s: string) => reportedName(s.replace(/""/g, '"'));
  return tagFor({ schema: unquote(m[1]), name: unquote(m[2]) });
}

function tagFor(rel: Relation): string {
  return JSON.stringify({ app: APP, model: `${rel.schema}.${rel.name.replace(/__cdp_[a-z0-9_]+$/i, '')}` });
}

function endpointOf(opts: SnowflakeOptions): SnowflakeEndpoint {
  const missing = (key: string, what: string) =>
    new CdpError(`The Snowflake target has no ${key}`, { hint: `Set ${key} in the target (${what}).` });
  if (!opts.account) throw missing('account', 'the account identifier, e.g. myorg-myaccount');
  if (!opts.user) throw missing('user', 'the Snowflake user cdp logs in as');
  if (!opts.password && !opts.privateKeyPath) {
    throw new CdpError(`The Snowflake target for account "${opts.account}" has neither a password nor a private_key_path`, {
      hint: 'Set password: ${env:SNOWFLAKE_PASSWORD}, or private_key_path (and private_key_passphrase for an encrypted key) for key-pair login.',
    });
  }
  return {
    account: opts.account,
    accessUrl: opts.accessUrl,
    user: opts.user,
    role: opts.role,
    warehouse: opts.warehouse,
    database: opts.database,
    schema: opts.schema,
    auth: opts.privateKeyPath ? 'key-pair' : 'password',
    secrets: [opts.password, opts.privateKeyPassphrase].filter((s): s is string => Boolean(s)),
  };
}

async function connectionOptions(opts: SnowflakeOptions, at: SnowflakeEndpoint): Promise<ConnectionOptions> {
  const base: ConnectionOptions = {
    account: opts.account!,
    username: opts.user!,
    role: opts.role,
    warehouse: opts.warehouse,
    database: opts.database,
    schema: opts.schema,
    ...(opts.accessUrl ? { accessUrl: opts.accessUrl } : {}),
    // The default retries a refused login for minutes; a wrong account should fail fast.
    sfRetryMaxLoginRetries: 2,
    // With fetchAsString, NULL numbers would otherwise arrive as the text 'NULL'.
    representNullAsStringNull: false,
  } as ConnectionOptions;
  if (!opts.privateKeyPath) return { ...base, password: opts.password };
  return { ...base, authenticator: 'SNOWFLAKE_JWT', privateKey: await readPrivateKey(opts.privateKeyPath, opts.privateKeyPassphrase, at) };
}

/** The key as unencrypted PKCS#8 PEM, which the driver signs with; read here so a bad file or passphrase gets a clear message. */
async function readPrivateKey(path: string, passphrase: string | undefined, at: SnowflakeEndpoint): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new CdpError(`Cannot read the private key file ${path} for ${describeEndpoint(at)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      hint: "Check the target's private_key_path.",
      cause: err,
    });
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase }).export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(pem);
    throw new CdpError(`Cannot use the private key in ${path} for ${describeEndpoint(at)}`, {
      hint: encrypted
        ? "The key is encrypted: check the target's private_key_passphrase (written as ${env:NAME})."
        : 'The file is not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----).',
      cause: err,
    });
  }
}

/** Snowflake accepts a login with a database or warehouse that is missing or not granted; catch that here. */
async function checkContext(session: SnowflakeSession, at: SnowflakeEndpoint): Promise<void> {
  const [ctx] = await session.query('SELECT CURRENT_DATABASE() AS "database", CURRENT_WAREHOUSE() AS "warehouse"');
  if (!ctx?.database) {
    if (at.database) throw missingObjectError(at, 'database', at.database);
    throw new CdpError(`No database is in use on ${describeEndpoint(at)}`, { hint: "Set database in the target (or a default namespace for the user)." });
  }
  if (!ctx.warehouse) {
    if (at.warehouse) throw missingObjectError(at, 'warehouse', at.warehouse);
    throw new CdpError(`No warehouse is in use on ${describeEndpoint(at)}`, { hint: "Set warehouse in the target (or a default warehouse for the user)." });
  }
}

/** A `snowflake` target from cdp.config.yaml (secrets already resolved) as adapter options. */
export function optionsFromTarget(target: Record<string, unknown>): SnowflakeOptions {
  const str = (key: string) => (typeof target[key] === 'string' && target[key] !== '' ? (target[key] as string) : undefined);
  const threads = typeof target.threads === 'number' ? target.threads : undefined;
  return {
    account: str('account'),
    user: str('user'),
    password: str('password'),
    privateKeyPath: str('private_key_path'),
    privateKeyPassphrase: str('private_key_passphrase'),
    role: str('role'),
    warehouse: str('warehouse'),
    database: str('database'),
    schema: str('schema'),
    accessUrl: str('access_url'),
    sessions: threads ? Math.max(DEFAULT_SESSIONS, threads) : undefined,
  };
}
