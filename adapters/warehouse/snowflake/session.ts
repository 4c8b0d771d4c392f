/**
 * Snowflake sessions: one snowflake-sdk Connection each, promisified, and a small pool of them.
 * A session's open transaction covers every statement sent on it, so each caller borrows a
 * session for itself (a statement, a stream, a bulk load, a transaction) and gives it back.
 */
import type { Readable } from 'node:stream';
import type { Bind, Connection, ConnectionOptions, RowStatement } from 'snowflake-sdk';
import { SnowflakeQueryError } from './errors.js';
import { rowShape, toRow, type ResultColumn, type RowShape } from './values.js';

type Sdk = typeof import('snowflake-sdk');

export interface StatementOptions {
  binds?: Bind[];
  queryTag?: string;
}

export class SnowflakeSession {
  constructor(
    private readonly conn: Connection,
    private readonly secrets: string[],
  ) {}

  /** Logs in. `connect(cb)` is used rather than connectAsync(), which resolves even when the login fails. */
  static open(sdk: Sdk, options: ConnectionOptions, secrets: string[]): Promise<SnowflakeSession> {
    const conn = sdk.createConnection(options);
    return new Promise((resolve, reject) => {
      conn.connect((err) => {
        if (err) reject(err);
        else if (!conn.isUp()) reject(new Error('the session is not up after login'));
        else resolve(new SnowflakeSession(conn, secrets));
      });
    });
  }

  get isUp(): boolean {
    return this.conn.isUp();
  }

  async query(sql: string, opts: StatementOptions = {}): Promise<Record<string, unknown>[]> {
    const { statement, rows } = await this.run(sql, opts, false);
    const shape = rowShape((statement.getColumns() ?? []) as ResultColumn[]);
    return (rows ?? []).map((r) => toRow(shape, r as unknown[]));
  }

  /** Runs a statement; returns the rows it changed (DML) or -1. */
  async execute(sql: string, opts: StatementOptions = {}): Promise<number> {
    const { statement } = await this.run(sql, opts, false);
    return statement.getNumUpdatedRows() ?? -1;
  }

  /** Rows in batches of at most `batchSize`; the driver fetches result chunks as they are consumed. */
  async *stream(sql: string, opts: StatementOptions, batchSize: number): AsyncGenerator<Record<string, unknown>[]> {
    const { statement } = await this.run(sql, opts, true);
    const shape: RowShape = rowShape((statement.getColumns() ?? []) as ResultColumn[]);
    const rows: Readable = statement.streamRows();
    try {
      let batch: Record<string, unknown>[] = [];
      for await (const row of rows) {
        batch.push(toRow(shape, row as unknown[]));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } catch (err) {
      throw new SnowflakeQueryError(err, this.secrets);
    } finally {
      if (!rows.destroyed) rows.destroy();
    }
  }

  /** Logs out: the driver deletes the session on the server. */
  destroy(): Promise<void> {
    if (!this.conn.isUp()) return Promise.resolve();
    return new Promise((resolve) => this.conn.destroy(() => resolve()));
  }

  private run(sql: string, opts: StatementOptions, streamResult: boolean): Promise<{ statement: RowStatement; rows?: unknown[] }> {
    return new Promise((resolve, reject) => {
      this.conn.execute({
        sqlText: sql,
        binds: opts.binds,
        rowMode: 'array',
        streamResult,
        fetchAsString: ['Number'],
        // A statement parameter, unlike ALTER SESSION, tags just this statement.
        parameters: opts.queryTag ? { QUERY_TAG: opts.queryTag } : undefined,
        complete: (err, statement, rows) => {
          if (err) reject(new SnowflakeQueryError(err, this.secrets));
          else resolve({ statement: statement as RowStatement, rows });
        },
      });
    });
  }
}

/** Up to `size` sessions, opened on demand; callers wait when all are borrowed. */
export class SessionPool {
  private readonly idle: SnowflakeSession[] = [];
  private readonly all = new Set<SnowflakeSession>();
  private readonly waiting: { resolve: (s: SnowflakeSession) => void; reject: (e: Error) => void }[] = [];
  private opening = 0;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly open: () => Promise<SnowflakeSession>,
  ) {}

  /** Adds a session opened elsewhere (the first one, opened to check the target). */
  adopt(session: SnowflakeSession): void {
    this.all.add(session);
    this.idle.push(session);
  }

  async acquire(): Promise<SnowflakeSession> {
    if (this.closed) throw new Error('Snowflake warehouse is closed');
    while (this.idle.length > 0) {
      const s = this.idle.pop()!;
      if (s.isUp) return s;
      this.all.delete(s);
    }
    if (this.all.size + this.opening < this.size) {
      this.opening++;
      try {
        const s = await this.open();
        this.all.add(s);
        return s;
      } finally {
        this.opening--;
      }
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(session: SnowflakeSession): void {
    const next = this.waiting.shift();
    if (next) next.resolve(session);
    else this.idle.push(session);
  }

  async use<T>(fn: (s: SnowflakeSession) => Promise<T>): Promise<T> {
    const s = await this.acquire();
    try {
      return await fn(s);
    } finally {
      this.release(s);
    }
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('Snowflake warehouse is closed'));
    const sessions = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(sessions.map((s) => s.destroy()));
  }
}
