/**
 * CSV text for `COPY ... FROM STDIN (FORMAT csv)`. Every non-null value is quoted: an unquoted
 * empty field means NULL, and a quoted one cannot be mistaken for the `\.` end-of-data marker.
 */
import { CdpError } from '../../../src/errors.js';
import type { ColumnSpec, LogicalType } from '../../../src/warehouse/types.js';
import {
  bigintOf,
  booleanOf,
  dateDaysOf,
  dateStringFromDays,
  describeValue,
  int32Of,
  numberOf,
  textOf,
  timestampMicrosOf,
  timestampTextUtc,
} from '../../../src/warehouse/values.js';

type Encoder = (value: unknown) => string;

const ENCODERS: Record<LogicalType, Encoder> = {
  boolean: (v) => (booleanOf(v) ? 't' : 'f'),
  integer: (v) => String(int32Of(v)),
  bigint: (v) => bigintOf(v).toString(),
  double: (v) => numberText(numberOf(v)),
  decimal: (v) => (typeof v === 'string' ? checkedDecimal(v) : numberText(numberOf(v))),
  text: (v) => textOf(v),
  date: (v) => dateStringFromDays(dateDaysOf(v)),
  timestamp: (v) => timestampTextUtc(timestampMicrosOf(v)),
  json: (v) => textOf(v),
};

function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

function checkedDecimal(v: string): string {
  numberOf(v);
  return v.trim();
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

export class CsvEncoder {
  private readonly encoders: Encoder[];

  constructor(
    private readonly columns: ColumnSpec[],
    private readonly where: string,
  ) {
    this.encoders = columns.map((c) => ENCODERS[c.type]);
  }

  /** CSV lines for a batch; `offset` is the number of rows before it, for error messages. */
  encode(rows: unknown[][], offset: number): string {
    let out = '';
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      for (let c = 0; c < this.encoders.length; c++) {
        if (c > 0) out += ',';
        const value = row[c];
        if (value === null || value === undefined) continue;
        out += quote(this.encodeCell(value, c, offset + r));
      }
      out += '\n';
    }
    return out;
  }

  private encodeCell(value: unknown, c: number, rowIndex: number): string {
    try {
      return this.encoders[c](value);
    } catch (err) {
      const col = this.columns[c];
      const reason = err instanceof Error ? err.message : String(err);
      throw new CdpError(`Cannot load ${describeValue(value)} into column "${col.name}" (${col.type}) of ${this.where}, row ${rowIndex + 1}: ${reason}`, { cause: err });
    }
  }
}
