/**
 * Columns of 32-bit integers in and out of DuckDB as data chunks: about five times faster than
 * row objects for the identity engine's edge pairs and labels (BENCHMARKS.md, Identity).
 */
import { DuckDBDataChunk, INTEGER, type DuckDBAppender, type DuckDBConnection, type DuckDBVector } from '@duckdb/node-api';
import { CdpError } from '../../../src/errors.js';
import type { Relation } from '../../../src/warehouse/types.js';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

export async function* streamInt32On(conn: DuckDBConnection, sql: string): AsyncIterable<Int32Array[]> {
  // A NULL fails the query itself, so every vector that arrives is fully valid and is copied whole.
  // (DuckDB expands the two COLUMNS(*) of one expression together, and evaluates error() only
  // for the rows that reach its branch; the conformance tests check both.)
  const result = await conn.stream(
    `select case when columns(*) is null then error('streamInt32: a column holds a NULL') else cast(columns(*) as integer) end from (${sql}) as t`);
  const width = result.columnCount;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return;
    const rows = chunk.rowCount;
    const columns: Int32Array[] = [];
    for (let c = 0; c < width; c++) columns.push(int32Items(chunk.getColumnVector(c), rows));
    yield columns;
  }
}

/**
 * A copy of an INTEGER vector's values. The vector's own typed array (not part of the
 * library's typed API, so checked before use) is copied at once; else value by value.
 */
function int32Items(vector: DuckDBVector, rows: number): Int32Array {
  const items = (vector as unknown as { items?: unknown }).items;
  if (items instanceof Int32Array && items.length === rows) return items.slice();
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = vector.getItem(i);
    if (v === null) throw new CdpError('streamInt32: a column holds a NULL');
    out[i] = v as number;
  }
  return out;
}

export async function appendInt32On(conn: DuckDBConnection, table: Relation, batches: AsyncIterable<Int32Array[]>): Promise<number> {
  await conn.run('BEGIN TRANSACTION');
  let appender: DuckDBAppender | undefined;
  try {
    appender = await conn.createAppender(table.name, table.schema, table.catalog);
    let count = 0;
    for await (const columns of batches) {
      const rows = columns[0]?.length ?? 0;
      if (columns.some((c) => c.length !== rows)) throw new CdpError(`appendInt32 into ${table.schema}.${table.name}: columns of different lengths`);
      for (let offset = 0; offset < rows; offset += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rows - offset);
        const chunk = DuckDBDataChunk.create(columns.map(() => INTEGER), n);
        columns.forEach((column, c) => {
          const vector = chunk.getColumnVector(c);
          for (let i = 0; i < n; i++) vector.setItem(i, column[offset + i]);
          vector.flush();
        });
        appender.appendDataChunk(chunk);
      }
      count += rows;
    }
    appender.closeSync();
    appender = undefined;
    await conn.run('COMMIT');
    return count;
  } catch (err) {
    try {
      appender?.closeSync();
    } catch {
      // The rollback below discards whatever the appender flushed.
    }
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
