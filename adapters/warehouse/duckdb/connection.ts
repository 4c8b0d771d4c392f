/**
 * The embedded DuckDB warehouse: one DuckDBInstance per warehouse (a database file may be
 * opened by one instance per process) and a small pool of connections on it.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { CdpError } from '../../../src/errors.js';
import { listRelations, withTransaction } from '../../../src/warehouse/session.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../../src/warehouse/types.js';
import { describeValue } from '../../../src/warehouse/values.js';
import { writerFor, type CellWriter } from './append.js';
import { jsonColumns, normalise, parseJsonColumns, toDuckDbParams } from './convert.js';
import { DuckDbDialect } from './dialect.js';
import { appendInt32On, streamInt32On } from './int32.js';
import { DuckDbConnectionPool } from './pool.js';

export interface DuckDbOptions {
  /** A database file, or ':memory:'. Parent directories of a file are created. */
  path: string;
  threads?: number;
  /**
   * DuckDB's memory_limit (e.g. '256MB'): its buffer pool, and so most of the process's memory.
   * Beyond it, joins and sorts spill to a temporary directory. DuckDB's default is 80% of RAM.
   */
  memoryLimit?: string;
  /** Connections kept for concurrent statements; defaults to max(4, threads). */
  connections?: number;
}

const DEFAULT_BATCH_SIZE = 5000;
/** The name of the in-memory database that holds scratch tables. */
const SCRATCH_CATALOG = 'cdp_scratch';

export class DuckDbWarehouse implements Warehouse {
  readonly dialect = new DuckDbDialect();
  readonly type = 'duckdb';
  private closed = false;
  private scratch?: Promise<string>;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly pool: DuckDbConnectionPool,
  ) {}

  static async open(opts: DuckDbOptions): Promise<DuckDbWarehouse> {
    const inMemory = opts.path === ':memory:' || opts.path === '';
    const options: Record<string, string> = {};
    if (opts.threads !== undefined) options.threads = String(opts.threads);
    if (opts.memoryLimit !== undefined) options.memory_limit = opts.memoryLimit;
    let instance: DuckDBInstance;
    try {
      if (!inMemory) await mkdir(dirname(resolve(opts.path)), { recursive: true });
      instance = await DuckDBInstance.create(inMemory ? ':memory:' : opts.path, options);
    } catch (err) {
      throw new CdpError(`Cannot open DuckDB database ${opts.path}: ${messageOf(err)}`, {
        hint: 'Check that the directory is writable and that no other process (another cdp run, a DuckDB shell) has the file open.',
        cause: err,
      });
    }
    const size = opts.connections ?? Math.max(4, opts.threads ?? 0);
    const pool = new DuckDbConnectionPool(instance, size, setUpConnection);
    const warehouse = new DuckDbWarehouse(instance, pool);
    // Open the first connection now so a broken file fails here rather than mid-run.
    await pool.use(async () => undefined);
    return warehouse;
  }

  async ping(): Promise<string> {
    const [row] = await this.query<{ v: string }>('SELECT version() AS v');
    return `DuckDB ${row.v}`;
  }

  execute(sql: string, params?: unknown[]): Promise<void> {
    return this.pool.use((conn) => runOn(conn, sql, params));
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.pool.use((conn) => queryOn<T>(conn, sql, params));
  }

  async *stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<T[]> {
    // The connection is held until the iteration ends: a new statement on it would cut the stream off.
    const conn = await this.pool.acquire();
    try {
      const result = await conn.stream(sql, toDuckDbParams(params));
      const json = jsonColumns(result);
      let batch: T[] = [];
      for await (const rows of result.yieldConvertedRowObjects(normalise)) {
        for (const row of parseJsonColumns(rows, json)) {
          batch.push(row as T);
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      this.pool.release(conn);
    }
  }

  async *streamInt32(sql: string): AsyncIterable<Int32Array[]> {
    const conn = await this.pool.acquire();
    try {
      yield* streamInt32On(conn, sql);
    } finally {
      this.pool.release(conn);
    }
  }

  /** An in-memory database attached to this instance (so every pooled connection sees it). */
  scratchCatalog(): Promise<string> {
    this.scratch ??= this.pool.use((conn) => conn.run(`ATTACH IF NOT EXISTS ':memory:' AS ${SCRATCH_CATALOG}`)).then(() => SCRATCH_CATALOG);
    return this.scratch;
  }

  appendInt32(table: Relation, batches: AsyncIterable<Int32Array[]>): Promise<number> {
    return this.pool.use((conn) => appendInt32On(conn, table, batches));
  }

  async bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    return this.pool.use(async (conn) => {
      const layout = await appendLayout(conn, table, columns);
      await conn.run('BEGIN TRANSACTION');
      let appender: DuckDBAppender | undefined;
      try {
        appender = await conn.createAppender(table.name, table.schema, table.catalog);
        const count = await appendRows(appender, layout, rows, table);
        appender.closeSync();
        appender = undefined;
        await conn.run('COMMIT');
        return count;
      } catch (err) {
        discard(appender);
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.pool.use((conn) =>
      withTransaction(
        {
          execute: (sql, params) => runOn(conn, sql, params),
          query: <R extends Row = Row>(sql: string, params?: unknown[]) => queryOn<R>(conn, sql, params),
        },
        fn,
      ),
    );
  }

  relations(schema: string): Promise<RelationInfo[]> {
    return listRelations(this, schema, 'table_catalog = current_database()');
  }

  async columns(relation: Relation): Promise<ColumnInfo[]> {
    return this.pool.use((conn) => columnsOn(conn, relation));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pool.closeAll();
    this.instance.closeSync();
  }
}

/**
 * Every connection works in UTC so TIMESTAMPTZ <-> TIMESTAMP casts and `now() AT TIME ZONE`
 * do not depend on the machine's zone. TimeZone is a per-connection (ICU) setting.
 */
async function setUpConnection(conn: DuckDBConnection): Promise<void> {
  await conn.run(`SET TimeZone = 'UTC'`);
}

async function runOn(conn: DuckDBConnection, sql: string, params?: unknown[]): Promise<void> {
  await conn.run(sql, toDuckDbParams(params));
}

async function queryOn<T extends Row>(conn: DuckDBConnection, sql: string, params?: unknown[]): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql, toDuckDbParams(params));
  return parseJsonColumns(reader.convertRowObjects(normalise), jsonColumns(reader)) as T[];
}

async function columnsOn(conn: DuckDBConnection, relation: Relation): Promise<ColumnInfo[]> {
  const rows = await queryOn<{ name: string; data_type: string }>(
    conn,
    `SELECT column_name AS name, data_type FROM information_schema.columns
     WHERE table_catalog = coalesce($3, current_database()) AND table_schema = $1 AND table_name = $2
     ORDER BY ordinal_position`,
    [relation.schema, relation.name, relation.catalog ?? null],
  );
  return rows.map((r) => ({ name: r.name, dataType: r.data_type }));
}

/** For each table column in table order: where its value comes from in an input row (-1: default). */
interface AppendLayout {
  sources: number[];
  writers: CellWriter[];
  columns: ColumnSpec[];
}

async function appendLayout(conn: DuckDBConnection, table: Relation, columns: ColumnSpec[]): Promise<AppendLayout> {
  const tableColumns = await columnsOn(conn, table);
  const where = `${table.catalog ? `${table.catalog}.` : ''}${table.schema}.${table.name}`;
  if (tableColumns.length === 0) throw new CdpError(`Cannot bulk load into ${where}: the table does not exist`);
  const names = new Set(tableColumns.map((c) => c.name));
  const unknown = columns.filter((c) => !names.has(c.name)).map((c) => c.name);
  if (unknown.length > 0) throw new CdpError(`Cannot bulk load into ${where}: no column ${unknown.map((n) => `"${n}"`).join(', ')}`);
  const sources = tableColumns.map((tc) => columns.findIndex((c) => c.name === tc.name));
  return { sources, writers: columns.map((c) => writerFor(c.type)), columns };
}

async function appendRows(appender: DuckDBAppender, layout: AppendLayout, rows: AsyncIterable<unknown[][]>, table: Relation): Promise<number> {
  let count = 0;
  for await (const batch of rows) {
    for (const row of batch) {
      for (const source of layout.sources) {
        if (source < 0) {
          appender.appendDefault();
          continue;
        }
        const value = row[source];
        if (value === null || value === undefined) {
          appender.appendNull();
          continue;
        }
        try {
          layout.writers[source](appender, value);
        } catch (err) {
          const col = layout.columns[source];
          throw new CdpError(
            `Cannot load ${describeValue(value)} into column "${col.name}" (${col.type}) of ${table.schema}.${table.name}, row ${count + 1}: ${messageOf(err)}`,
            { cause: err },
          );
        }
      }
      appender.endRow();
      count++;
    }
  }
  return count;
}

function discard(appender: DuckDBAppender | undefined): void {
  if (!appender) return;
  try {
    appender.clear();
    appender.closeSync();
  } catch {
    // The rollback that follows discards whatever the appender had flushed.
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
