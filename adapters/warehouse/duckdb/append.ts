/**
 * Typed appender writes, one function per logical type: the generic `appendValue` infers a
 * type for every cell and is about ten times slower.
 */
import { DuckDBDateValue, DuckDBTimestampValue, type DuckDBAppender } from '@duckdb/node-api';
import type { LogicalType } from '../../../src/warehouse/types.js';
import { bigintOf, booleanOf, dateDaysOf, int32Of, numberOf, textOf, timestampMicrosOf } from '../../../src/warehouse/values.js';

export type CellWriter = (appender: DuckDBAppender, value: unknown) => void;

const WRITERS: Record<LogicalType, CellWriter> = {
  boolean: (a, v) => a.appendBoolean(booleanOf(v)),
  integer: (a, v) => a.appendInteger(int32Of(v)),
  bigint: (a, v) => a.appendBigInt(bigintOf(v)),
  double: (a, v) => a.appendDouble(numberOf(v)),
  // Text is cast by DuckDB to the column's DECIMAL exactly; a JS number is already a double.
  decimal: (a, v) => (typeof v === 'string' ? a.appendVarchar(v.trim()) : a.appendDouble(numberOf(v))),
  text: (a, v) => a.appendVarchar(textOf(v)),
  date: (a, v) => a.appendDate(new DuckDBDateValue(dateDaysOf(v))),
  timestamp: (a, v) => a.appendTimestamp(new DuckDBTimestampValue(timestampMicrosOf(v))),
  json: (a, v) => a.appendVarchar(textOf(v)),
};

export function writerFor(type: LogicalType): CellWriter {
  return WRITERS[type];
}
