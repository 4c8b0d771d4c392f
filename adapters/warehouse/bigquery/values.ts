/**
 * BigQuery results <-> the adapter-neutral JS values of `Row`, and bulk-load rows as NDJSON.
 *
 * The client parses result cells into its own wrappers (BigQueryInt with `wrapIntegers`, Big
 * for NUMERIC, BigQueryTimestamp, BigQueryDate); the field schema says how to unwrap each one
 * so INT64 and NUMERIC become numbers (bigint beyond 2^53), DATE 'YYYY-MM-DD', TIMESTAMP a Date.
 */
import { CdpError } from '../../../src/errors.js';
import type { ColumnSpec, LogicalType, Row } from '../../../src/warehouse/types.js';
import {
  bigintOf,
  booleanOf,
  dateDaysOf,
  dateFromMicros,
  dateStringFromDays,
  describeValue,
  int32Of,
  integerValue,
  numberFromText,
  numberOf,
  parseTimestampMicros,
  textOf,
  timestampMicrosOf,
} from '../../../src/warehouse/values.js';

export interface SchemaField {
  name: string;
  type: string;
  mode?: string;
  fields?: SchemaField[];
}

export function normaliseRows(fields: SchemaField[] | undefined, rows: Record<string, unknown>[]): Row[] {
  if (!fields) return rows;
  for (const row of rows) {
    for (const field of fields) row[field.name] = normaliseField(field, row[field.name]);
  }
  return rows;
}

function normaliseField(field: SchemaField, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED' && Array.isArray(value)) return value.map((v) => normaliseScalar(field, v));
  return normaliseScalar(field, value);
}

function normaliseScalar(field: SchemaField, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'INTEGER':
    case 'INT64':
      return integerValue(BigInt(wrapped(value)));
    case 'NUMERIC':
    case 'BIGNUMERIC':
      // Big's toString switches to exponent notation for large and tiny values; toFixed never does.
      return numberFromText(hasToFixed(value) ? value.toFixed() : String(value));
    case 'FLOAT':
    case 'FLOAT64':
      return typeof value === 'number' ? value : Number(value);
    case 'TIMESTAMP':
    case 'DATETIME': {
      // DATETIME has no zone; like zone-less timestamps elsewhere it is read as UTC.
      const micros = parseTimestampMicros(wrapped(value));
      return micros === undefined ? wrapped(value) : dateFromMicros(micros);
    }
    case 'DATE':
    case 'TIME':
    case 'GEOGRAPHY':
      return wrapped(value);
    case 'JSON':
      return typeof value === 'string' ? JSON.parse(value) : value;
    case 'RECORD':
    case 'STRUCT': {
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const sub of field.fields ?? []) out[sub.name] = normaliseField(sub, record[sub.name]);
      return out;
    }
    default:
      return value;
  }
}

/** The text inside the client's value wrappers (`{value: '...'}`), or the value's own text. */
function wrapped(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'value' in value) return String((value as { value: unknown }).value);
  return String(value);
}

function hasToFixed(value: unknown): value is { toFixed(): string } {
  return typeof value === 'object' && value !== null && typeof (value as { toFixed?: unknown }).toFixed === 'function';
}

/** A bulk-load value as its NDJSON form; throws TypeError when it does not fit the type. */
type Encoder = (value: unknown) => unknown;

const MAX_INT64 = 9223372036854775807n;

const ENCODERS: Record<LogicalType, Encoder> = {
  boolean: (v) => booleanOf(v),
  integer: (v) => int32Of(v),
  bigint: (v) => {
    const n = bigintOf(v);
    if (n > MAX_INT64 || n < -MAX_INT64 - 1n) throw new TypeError(`out of range for INT64: ${n}`);
    // Quoted: JSON numbers lose precision beyond 2^53 on the way through JS.
    return n.toString();
  },
  double: (v) => {
    const n = numberOf(v);
    return Number.isFinite(n) ? n : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  },
  decimal: (v) => {
    const n = numberOf(v);
    if (!Number.isFinite(n)) throw new TypeError(`NUMERIC cannot hold ${describeValue(v)}`);
    return typeof v === 'string' ? v.trim() : String(v);
  },
  text: (v) => textOf(v),
  date: (v) => dateStringFromDays(dateDaysOf(v)),
  timestamp: (v) => isoMicros(timestampMicrosOf(v)),
  json: (v) => (typeof v === 'string' ? JSON.parse(v) : JSON.parse(textOf(v))),
};

/** '2024-01-02T03:04:05.123456Z': exact to the microsecond, which a JS Date is not. */
function isoMicros(micros: bigint): string {
  const date = dateFromMicros(micros);
  const subMs = ((micros % 1000n) + 1000n) % 1000n;
  return `${date.toISOString().slice(0, 23)}${String(subMs).padStart(3, '0')}Z`;
}

export class NdjsonEncoder {
  private readonly encoders: Encoder[];

  constructor(
    private readonly columns: ColumnSpec[],
    private readonly where: string,
  ) {
    this.encoders = columns.map((c) => ENCODERS[c.type]);
  }

  /** NDJSON lines for a batch; `offset` is the number of rows before it, for error messages. NULLs are left out. */
  encode(rows: unknown[][], offset: number): string {
    let out = '';
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      const record: Record<string, unknown> = {};
      for (let c = 0; c < this.encoders.length; c++) {
        const value = row[c];
        if (value === null || value === undefined) continue;
        record[this.columns[c].name] = this.encodeCell(value, c, offset + r);
      }
      out += JSON.stringify(record) + '\n';
    }
    return out;
  }

  private encodeCell(value: unknown, c: number, rowIndex: number): unknown {
    try {
      return this.encoders[c](value);
    } catch (err) {
      const col = this.columns[c];
      const reason = err instanceof Error ? err.message : String(err);
      throw new CdpError(`Cannot load ${describeValue(value)} into column "${col.name}" (${col.type}) of ${this.where}, row ${rowIndex + 1}: ${reason}`, { cause: err });
    }
  }
}
