/**
 * Snowflake through snowflake-sdk: a pool of sessions (one sdk Connection each), password or
 * key-pair login, `$n` parameters as numbered binds, results normalised as `Row`, streaming
 * through the driver's row stream, bulk loads as batched INSERTs, and a query tag on every
 * statement that writes a relation, naming the model it belongs to.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'snowflake-sdk';
import { CdpError } from '../../../src/errors.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../../src/warehouse/types.js';
import { InsertBatcher } from './bulk.js';
import { SnowflakeDialect } from './dialect.js';
import { connectionError, describeEndpoint, missingObjectError, type SnowflakeEndpoint } from './errors.js';
import { reportedName, storedName } from './names.js';
import { SessionPool, SnowflakeSession, type StatementOptions } from './session.js';
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
}

const DEFAULT_BATCH_SIZE = 5000;
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
    return new SnowflakeWarehouse(pool, endpoint);
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

  /** Batched INSERTs in one transaction on one session: a bad value or a failed batch loads nothing. */
  bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    const where = `${table.schema}.${table.name}`;
    const batcher = new InsertBatcher(this.dialect, columns, where);
    const target = this.dialect.relation(table);
    const queryTag = tagFor(table);
    return this.pool.use(async (s) => {
      await s.execute('BEGIN TRANSACTION');
      try {
        let count = 0;
        for await (const batch of rows) {
          for (let start = 0; start < batch.length; start += batcher.rowsPerStatement) {
            const slice = batch.slice(start, start + batcher.rowsPerStatement);
            await s.execute(batcher.statement(target, slice.length), { binds: batcher.binds(slice, count), queryTag });
            count += slice.length;
          }
        }
        await s.execute('COMMIT');
        return count;
      } catch (err) {
        await s.execute('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
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
