/**
 * Bulk loads as batched multi-row INSERTs with binds: `INSERT INTO t (cols) SELECT casts FROM
 * VALUES (?, ...), (?, ...) AS v(...)`. Every value is bound as text (or NULL) and cast in the
 * SELECT, because Snowflake's VALUES clause accepts only constants and binds (no PARSE_JSON)
 * and because one type per VALUES column keeps Snowflake's type inference out of the way.
 * Values are checked here first, so a bad one is reported with its column and row.
 *
 * The stage + COPY INTO path (PUT to a user stage) is not implemented: see docs/warehouses/snowflake.md.
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

export class InsertBatcher {
  readonly rowsPerStatement: number;
  private readonly encoders: Encoder[];

  constructor(
    private readonly dialect: SnowflakeDialect,
    private readonly columns: ColumnSpec[],
    private readonly where: string,
  ) {
    this.encoders = columns.map((c) => ENCODERS[c.type]);
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

  /** Binds for `rows`, row-major; `offset` is the number of rows before them, for error messages. */
  binds(rows: unknown[][], offset: number): (string | null)[] {
    const out: (string | null)[] = [];
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      for (let c = 0; c < this.encoders.length; c++) {
        const value = row[c];
        if (value === null || value === undefined) {
          out.push(null);
          continue;
        }
        try {
          out.push(this.encoders[c](value));
        } catch (err) {
          const col = this.columns[c];
          const reason = err instanceof Error ? err.message : String(err);
          throw new CdpError(`Cannot load ${describeValue(value)} into column "${col.name}" (${col.type}) of ${this.where}, row ${offset + r + 1}: ${reason}`, { cause: err });
        }
      }
    }
    return out;
  }
}
