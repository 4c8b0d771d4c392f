/**
 * Values for Snowflake bulk loads, and the small-load path: batched multi-row INSERTs with binds,
 * `INSERT INTO t (cols) SELECT casts FROM VALUES (?, ...), (?, ...) AS v(...)`.
 *
 * Every value is encoded as text (or NULL) once, here, and checked on the way, so a bad one is
 * reported with its column and row before anything is sent. The same text is what the stage path
 * (stage.ts) writes to CSV, so both paths load identical values. For INSERTs it is bound as text
 * and cast in the SELECT, because Snowflake's VALUES clause accepts only constants and binds (no
 * PARSE_JSON) and one type per VALUES column keeps Snowflake's type inference out of the way.
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
import type { SnowflakeDialect } from './dialect.js';
import type { EncodedRow } from './stage.js';

/** Rows per INSERT, and a cap on binds per statement so wide tables send fewer rows. */
export const INSERT_BATCH_ROWS = 1000;
const MAX_BINDS = 16_000;

type Encoder = (value: unknown) => string;

const ENCODERS: Record<LogicalType, Encoder> = {
  boolean: (v) => (booleanOf(v) ? 'true' : 'false'),
  integer: (v) => String(int32Of(v)),
  bigint: (v) => bigintOf(v).toString(),
  double: (v) => {
    const n = numberOf(v);
    return Number.isFinite(n) ? String(n) : Number.isNaN(n) ? 'NaN' : n > 0 ? 'inf' : '-inf';
  },
  decimal: (v) => (typeof v === 'string' ? (numberOf(v), v.trim()) : String(numberOf(v))),
  text: (v) => textOf(v),
  date: (v) => dateStringFromDays(dateDaysOf(v)),
  // Zone-less UTC wall time, exact to the microsecond, for TIMESTAMP_NTZ.
  timestamp: (v) => timestampTextUtc(timestampMicrosOf(v)).slice(0, -3),
  json: (v) => textOf(v),
};

/** Encodes rows for one load; `where` names the table in messages. */
export class RowEncoder {
  private readonly encoders: Encoder[];

  constructor(
    private readonly columns: ColumnSpec[],
    private readonly where: string,
  ) {
    this.encoders = columns.map((c) => ENCODERS[c.type]);
  }

  /** `index` is the 0-based position of the row in the whole load, for error messages. */
  encode(row: unknown[], index: number): EncodedRow {
    const out: EncodedRow = new Array(this.encoders.length);
    for (let c = 0; c < this.encoders.length; c++) {
      const value = row[c];
      if (value === null || value === undefined) {
        out[c] = null;
        continue;
      }
      try {
        out[c] = this.encoders[c](value);
      } catch (err) {
        const col = this.columns[c];
        const reason = err instanceof Error ? err.message : String(err);
        throw new CdpError(`Cannot load ${describeValue(value)} into column "${col.name}" (${col.type}) of ${this.where}, row ${index + 1}: ${reason}`, { cause: err });
      }
    }
    return out;
  }
}

export class InsertBatcher {
  readonly rowsPerStatement: number;

  constructor(
    private readonly dialect: SnowflakeDialect,
    private readonly columns: ColumnSpec[],
  ) {
    this.rowsPerStatement = Math.max(1, Math.min(INSERT_BATCH_ROWS, Math.floor(MAX_BINDS / Math.max(1, columns.length))));
  }

  /** The INSERT for `count` rows. */
  statement(table: string, count: number): string {
    const d = this.dialect;
    const names = this.columns.map((c) => d.quoteIdent(c.name)).join(', ');
    const aliases = this.columns.map((_, i) => `"c${i + 1}"`);
    const select = this.columns.map((c, i) => (c.type === 'json' ? `PARSE_JSON("v".${aliases[i]})` : d.cast(`"v".${aliases[i]}`, c.type))).join(', ');
    const row = `(${this.columns.map(() => '?').join(', ')})`;
    const values = Array.from({ length: count }, () => row).join(',\n');
    return `INSERT INTO ${table} (${names})\nSELECT ${select}\nFROM (VALUES\n${values}) AS "v"(${aliases.join(', ')})`;
  }

  /** Binds for encoded rows, row-major. */
  binds(rows: EncodedRow[]): (string | null)[] {
    return rows.flat();
  }
}
