/**
 * A small pool of connections to one DuckDB instance. A DuckDB connection runs one statement
 * at a time, so the runner's parallel model builds need several; connections are cheap
 * (same process, same database) but each holds its own transaction and settings.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export class DuckDbConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiting: Array<{ resolve: (conn: DuckDBConnection) => void; reject: (err: Error) => void }> = [];
  private opening = 0;
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly size: number,
    private readonly setup: (conn: DuckDBConnection) => Promise<void>,
  ) {}

  async acquire(): Promise<DuckDBConnection> {
    if (this.closed) throw new Error('DuckDB warehouse is closed');
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.all.length + this.opening < this.size) return this.open();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(conn: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) next.resolve(conn);
    else this.idle.push(conn);
  }

  /** Borrows a connection for the duration of `fn`. */
  async use<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      return await fn(conn);
    } finally {
      this.release(conn);
    }
  }

  closeAll(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('DuckDB warehouse is closed'));
    for (const conn of this.all) conn.closeSync();
    this.all.length = 0;
    this.idle.length = 0;
  }

  private async open(): Promise<DuckDBConnection> {
    this.opening++;
    try {
      const conn = await this.instance.connect();
      await this.setup(conn);
      this.all.push(conn);
      return conn;
    } finally {
      this.opening--;
    }
  }
}
