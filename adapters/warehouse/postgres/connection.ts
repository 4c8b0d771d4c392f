/**
 * PostgreSQL through a knex-managed pool of raw pg clients. knex contributes pooling only:
 * statements go straight to the pg client so `$1` parameters, per-query type parsers,
 * cursors (pg-query-stream) and COPY (pg-copy-streams) all work on the same session.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import knex, { type Knex } from 'knex';
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { listRelations, withTransaction } from '../../../src/warehouse/session.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../../src/warehouse/types.js';
import { CsvEncoder } from './copy.js';
import { PostgresDialect } from './dialect.js';
import { connectionError, type PgEndpoint } from './errors.js';
import { resultTypes, toPgParams } from './types.js';

export interface PostgresOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  poolMax?: number;
}

const DEFAULT_BATCH_SIZE = 5000;
const CONNECT_TIMEOUT_MS = 10_000;
// Model builds queue for a client while others run for minutes; knex's 60 s default would
// fail them. Unreachable servers still fail fast: connection errors propagate immediately.
const ACQUIRE_TIMEOUT_MS = 6 * 60 * 60 * 1000;

export class PostgresWarehouse implements Warehouse {
  readonly dialect = new PostgresDialect();
  readonly type = 'postgres';
  private closed = false;

  private constructor(
    private readonly db: Knex,
    private readonly endpoint: PgEndpoint,
  ) {}

  static async open(opts: PostgresOptions = {}): Promise<PostgresWarehouse> {
    const endpoint: PgEndpoint = {
      host: opts.host ?? process.env.PGHOST ?? 'localhost',
      port: opts.port ?? (Number(process.env.PGPORT) || 5432),
      user: opts.user ?? process.env.PGUSER ?? 'postgres',
      database: opts.database ?? process.env.PGDATABASE ?? 'postgres',
      password: opts.password ?? process.env.PGPASSWORD,
    };
    const db = knex({
      client: 'pg',
      connection: {
        ...endpoint,
        application_name: 'composable-cdp',
        // UTC sessions make now() AT TIME ZONE, timestamptz text and casts independent of the server's zone.
        options: '-c TimeZone=UTC',
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      } as Knex.PgConnectionConfig,
      pool: { min: 0, max: opts.poolMax ?? 8 },
      acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      log: quietAcquireErrors,
    });
    const warehouse = new PostgresWarehouse(db, endpoint);
    try {
      // Connect now so a wrong host, port or database fails at open, not in the middle of a run.
      await warehouse.withClient(async () => undefined);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return warehouse;
  }

  async ping(): Promise<string> {
    const [row] = await this.query<{ v: string }>('SELECT version() AS v');
    return row.v;
  }

  execute(sql: string, params?: unknown[]): Promise<void> {
    return this.withClient(async (client) => {
      await queryOn(client, sql, params);
    });
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.withClient((client) => queryOn<T>(client, sql, params));
  }

  async *stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<T[]> {
    const client = await this.acquire();
    const rows = new QueryStream(sql, toPgParams(params), { batchSize, types: resultTypes });
    client.query(rows);
    try {
      let batch: T[] = [];
      for await (const row of rows) {
        batch.push(row as T);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      // On an early `break` the cursor must be closed on the server before the client is reused.
      await closeStream(rows);
      this.release(client);
    }
  }

  bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    const d = this.dialect;
    const sql = `COPY ${d.relation(table)} (${columns.map((c) => d.quoteIdent(c.name)).join(', ')}) FROM STDIN WITH (FORMAT csv)`;
    const encoder = new CsvEncoder(columns, `${table.schema}.${table.name}`);
    return this.withClient(async (client) => {
      let count = 0;
      async function* csv(): AsyncGenerator<string> {
        for await (const batch of rows) {
          const text = encoder.encode(batch, count);
          count += batch.length;
          if (text) yield text;
        }
      }
      const copy = client.query(pgCopy.from(sql));
      await pipeline(Readable.from(csv()), copy);
      return count;
    });
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.withClient((client) =>
      withTransaction(
        {
          execute: async (sql, params) => {
            await queryOn(client, sql, params);
          },
          query: <R extends Row = Row>(sql: string, params?: unknown[]) => queryOn<R>(client, sql, params),
        },
        fn,
      ),
    );
  }

  relations(schema: string): Promise<RelationInfo[]> {
    return listRelations(this, schema);
  }

  async columns(relation: Relation): Promise<ColumnInfo[]> {
    // format_type gives full type names (e.g. numeric(12,2), text[]) that can be reused in DDL.
    const rows = await this.query<{ name: string; data_type: string }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS data_type
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [relation.schema, relation.name],
    );
    return rows.map((r) => ({ name: r.name, dataType: r.data_type }));
  }

  /**
   * PostgreSQL views point at table objects, not names: replacing a table must drop and
   * re-create the views that depend on it (transitively), deepest last.
   */
  async dependentViews(relation: Relation): Promise<{ relation: Relation; definition: string }[]> {
    const rows = await this.query<{ schema: string; name: string; def: string }>(
      `WITH RECURSIVE deps(oid, depth) AS (
         SELECT DISTINCT r.ev_class, 1
         FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
         WHERE d.refobjid = to_regclass($1) AND r.ev_class <> d.refobjid
         UNION ALL
         SELECT DISTINCT r.ev_class, deps.depth + 1
         FROM deps JOIN pg_depend d ON d.refobjid = deps.oid JOIN pg_rewrite r ON r.oid = d.objid
         WHERE r.ev_class <> deps.oid AND deps.depth < 100
       )
       SELECT n.nspname AS schema, c.relname AS name, pg_get_viewdef(c.oid) AS def
       FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'v'
       GROUP BY n.nspname, c.relname, c.oid
       ORDER BY max(deps.depth), n.nspname, c.relname`,
      [this.dialect.relation(relation)],
    );
    return rows.map((r) => ({
      relation: { schema: r.schema, name: r.name },
      definition: `CREATE VIEW ${this.dialect.relation({ schema: r.schema, name: r.name })} AS ${r.def}`,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }

  private async acquire(): Promise<pg.Client> {
    try {
      return (await this.db.client.acquireConnection()) as pg.Client;
    } catch (err) {
      throw connectionError(err, this.endpoint);
    }
  }

  private release(client: pg.Client): void {
    this.db.client.releaseConnection(client);
  }

  private async withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      return await fn(client);
    } finally {
      this.release(client);
    }
  }
}

async function queryOn<T extends Row>(client: pg.Client, sql: string, params?: unknown[]): Promise<T[]> {
  const result = (await client.query({ text: sql, values: toPgParams(params), types: resultTypes })) as pg.QueryResult | pg.QueryResult[];
  // A multi-statement string returns one result per statement; the last one is the answer.
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return (last?.rows ?? []) as T[];
}

function closeStream(stream: Readable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    if (!stream.destroyed) stream.destroy();
  });
}

/** knex logs every failed connection attempt as a warning; the CdpError already says it. */
const quietAcquireErrors = {
  warn(message: unknown) {
    if (typeof message === 'string' && message.startsWith('Acquire connection error')) return;
    console.warn(message);
  },
};
