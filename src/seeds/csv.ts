/**
 * Seed CSV files: column type inference and typed, streaming row reads.
 *
 * Both passes stream the file through csv-parse, so memory stays bounded by one batch
 * however large the seed is. Inference looks at every non-empty value (not a sample):
 * a seed that is "integer except on row 900,000" must not fail halfway through a load.
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse, CsvError, type Options as CsvOptions } from 'csv-parse';
import { closest, distance } from 'fastest-levenshtein';
import { CdpError } from '../errors.js';
import type { LogicalType } from '../warehouse/types.js';

export type { LogicalType };

export interface InferredColumn {
  name: string;
  type: LogicalType;
}

const LOGICAL_TYPES: readonly LogicalType[] = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'text', 'date', 'timestamp', 'json'];
const DEFAULT_BATCH_SIZE = 5000;

// ---------------------------------------------------------------------------------------------
// Recognising values

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// Inferred integers and numbers reject leading zeros: `007` or `0612345678` are codes, not quantities.
const INFER_INTEGER_RE = /^[+-]?(?:0|[1-9]\d*)$/;
const INFER_NUMBER_RE = /^[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFER_BOOLEAN_RE = /^(?:true|false)$/i;
// An explicit type is the user's decision, so leading zeros are accepted there.
const INTEGER_RE = /^[+-]?\d+$/;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DOUBLE_SPECIALS: Record<string, number> = {
  nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity,
};
const BOOLEAN_WORDS: Record<string, boolean> = { true: true, t: true, yes: true, y: true, '1': true, false: false, f: false, no: false, n: false, '0': false };
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function isDate(v: string): boolean {
  const m = DATE_RE.exec(v);
  return m !== null && validDate(+m[1], +m[2], +m[3]);
}

/** Milliseconds since the epoch, or undefined when `v` is not a valid timestamp. Dates count as midnight UTC. */
function timestampMillis(v: string): number | undefined {
  let m = TIMESTAMP_RE.exec(v);
  let year: number, month: number, day: number;
  let hour = 0, minute = 0, second = 0, millis = 0, offsetMinutes = 0;
  if (m) {
    [year, month, day, hour, minute, second] = [+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]];
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    // Sub-millisecond digits are dropped: JS Dates hold milliseconds.
    if (m[7]) millis = Number(m[7].slice(0, 3).padEnd(3, '0'));
    const zone = m[8];
    if (zone && zone.toUpperCase() !== 'Z') {
      const oh = Number(zone.slice(1, 3));
      const om = zone.length > 3 ? Number(zone.slice(-2)) : 0;
      if (oh > 23 || om > 59) return undefined;
      offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
    }
  } else {
    m = DATE_RE.exec(v);
    if (!m) return undefined;
    [year, month, day] = [+m[1], +m[2], +m[3]];
  }
  if (!validDate(year, month, day)) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  // Date.UTC maps years 0-99 to 1900-1999.
  if (year < 100) date.setUTCFullYear(year);
  return date.getTime() - offsetMinutes * 60_000;
}

function int64(v: string): bigint | undefined {
  const n = BigInt(v);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// Converting values

const INVALID = Symbol('invalid');
type Converter = (raw: string) => unknown;

function convertInteger(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  if (!INTEGER_RE.test(v)) return INVALID;
  const n = Number(v);
  if (n < INT32_MIN || n > INT32_MAX) return INVALID;
  return n === 0 ? 0 : n; // no -0
}

function convertBigint(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  if (!INTEGER_RE.test(v)) return INVALID;
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
  return int64(v) ?? INVALID;
}

function convertDouble(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  if (NUMBER_RE.test(v)) return Number(v);
  const special = DOUBLE_SPECIALS[v.toLowerCase()];
  return special === undefined ? INVALID : special;
}

function convertDecimal(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  return NUMBER_RE.test(v) ? Number(v) : INVALID;
}

function convertBoolean(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  const b = BOOLEAN_WORDS[v.toLowerCase()];
  return b === undefined ? INVALID : b;
}

function convertDate(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  return isDate(v) ? v : INVALID;
}

function convertTimestamp(raw: string): unknown {
  const v = raw.trim();
  if (v === '') return null;
  const ms = timestampMillis(v);
  return ms === undefined ? INVALID : new Date(ms);
}

function convertJson(raw: string): unknown {
  if (raw.trim() === '') return null;
  try {
    return JSON.parse(raw);
  } catch {
    return INVALID;
  }
}

function convertText(raw: string): unknown {
  return raw === '' ? null : raw;
}

const CONVERTERS: Record<LogicalType, Converter> = {
  boolean: convertBoolean,
  integer: convertInteger,
  bigint: convertBigint,
  double: convertDouble,
  decimal: convertDecimal,
  text: convertText,
  date: convertDate,
  timestamp: convertTimestamp,
  json: convertJson,
};

function invalidValueError(file: string, line: number, column: string, type: LogicalType, raw: string): CdpError {
  const shown = raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
  let hint = `fix the value, or declare another type for column "${column}" in the seed's column_types`;
  if (type === 'integer' && INTEGER_RE.test(raw.trim())) hint = `the value is outside the 32-bit integer range; declare column "${column}" as bigint`;
  if (type === 'bigint' && INTEGER_RE.test(raw.trim())) hint = `the value is outside the 64-bit integer range; declare column "${column}" as decimal or text`;
  return new CdpError(`${file}:${line}: value "${shown}" in column "${column}" is not a valid ${type}`, {
    location: { file, line },
    hint,
  });
}

// ---------------------------------------------------------------------------------------------
// Reading records

interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts (the header is line 1 unless blank lines precede it). */
  line: number;
}

async function checkReadable(file: string): Promise<void> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new CdpError(`${file} is not a file`, { location: { file } });
    size = st.size;
  } catch (e) {
    if (e instanceof CdpError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CdpError(`seed file ${file} does not exist`, { location: { file } });
    throw new CdpError(`cannot read seed file ${file}: ${(e as Error).message}`, { location: { file }, cause: e });
  }
  if (size === 0) throw new CdpError(`seed file ${file} is empty`, { location: { file }, hint: 'a seed needs a header row naming its columns' });
}

/** Every record of the file, header included, with its starting line. csv-parse errors become CdpErrors. */
async function* readRecords(file: string): AsyncGenerator<CsvRecord> {
  const source = createReadStream(file);
  let previousEnd = 0;
  let previousEmpty = 0;
  const options: CsvOptions<CsvRecord, string[]> = {
    bom: true,
    // Ragged rows are checked by the callers so the message can name the header's width.
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    // Cheaper than `info: true`, which copies the whole info object for every record.
    on_record: (fields, ctx) => {
      // ctx.lines is where the record ends; skipped blank lines sit between the previous record and this one.
      const line = previousEnd + 1 + (ctx.empty_lines - previousEmpty);
      previousEnd = ctx.lines;
      previousEmpty = ctx.empty_lines;
      return { fields, line };
    },
  };
  // csv-parse's overloads only carry the record type through when `columns` is set.
  const parser = parse(options as unknown as CsvOptions);
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  try {
    yield* parser as AsyncIterable<CsvRecord>;
  } catch (e) {
    if (e instanceof CdpError) throw e;
    if (e instanceof CsvError) {
      const line = typeof (e as CsvError & { lines?: number }).lines === 'number' ? (e as CsvError & { lines: number }).lines : undefined;
      throw new CdpError(`${file}${line ? `:${line}` : ''}: malformed CSV: ${e.message}`, { location: { file, line }, cause: e });
    }
    throw new CdpError(`cannot read seed file ${file}: ${(e as Error).message}`, { location: { file }, cause: e });
  } finally {
    source.destroy();
    parser.destroy();
  }
}

function checkHeader(file: string, fields: string[] | undefined, line: number): string[] {
  if (!fields) throw new CdpError(`seed file ${file} has no header row`, { location: { file }, hint: 'the first line must name the columns' });
  const names = fields.map((f) => f.trim());
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === '') {
      throw new CdpError(`${file}:${line}: column ${i + 1} of the header has no name`, { location: { file, line }, hint: 'every column needs a name in the header row' });
    }
    // Warehouses such as DuckDB compare identifiers case-insensitively even when quoted.
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      throw new CdpError(`${file}:${line}: duplicate column name "${name}" (columns ${first + 1} and ${i + 1})`, {
        location: { file, line },
        hint: 'column names must be unique, ignoring case',
      });
    }
    seen.set(key, i);
  });
  return names;
}

function raggedRowError(file: string, rec: CsvRecord, width: number): CdpError {
  return new CdpError(`${file}:${rec.line}: row has ${rec.fields.length} field${rec.fields.length === 1 ? '' : 's'}, the header has ${width}`, {
    location: { file, line: rec.line },
    hint: 'quote values that contain commas, and check for missing or extra separators',
  });
}

function checkOverrides(file: string, header: string[], overrides: Record<string, LogicalType>): void {
  for (const [column, type] of Object.entries(overrides)) {
    if (!header.includes(column)) {
      const best = header.length > 0 ? closest(column, header) : undefined;
      const near = best !== undefined && (best.toLowerCase() === column.toLowerCase() || distance(column, best) <= 2);
      throw new CdpError(`column type given for "${column}", but ${file} has no such column`, {
        location: { file },
        hint: `${near ? `did you mean "${best}"? ` : ''}columns: ${header.join(', ')}`,
      });
    }
    if (!(LOGICAL_TYPES as readonly string[]).includes(type)) {
      throw new CdpError(`unknown type "${String(type)}" for column "${column}" of ${file}`, {
        location: { file },
        hint: `types: ${LOGICAL_TYPES.join(', ')}`,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Inference

/** Which types every value seen so far fits; a flag once false stays false. */
class ColumnEvidence {
  seen = false;
  integer = true;
  needsBigint = false;
  number = true;
  fractional = false;
  boolean = true;
  date = true;
  timestamp = true;

  add(raw: string): void {
    const v = raw.trim();
    if (v === '') return;
    this.seen = true;
    if (this.integer) {
      if (!INFER_INTEGER_RE.test(v)) this.integer = false;
      else if (v.replace(/^[+-]/, '').length >= 10) {
        // Nine digits always fit in 32 bits; only longer values need the exact comparison.
        const n = int64(v);
        if (n === undefined) this.integer = false;
        else if (n < INT32_MIN || n > INT32_MAX) this.needsBigint = true;
      }
    }
    if (this.number && !this.integer) {
      if (!INFER_NUMBER_RE.test(v) || !Number.isFinite(Number(v))) this.number = false;
      else if (/[.eE]/.test(v)) this.fractional = true;
    }
    if (this.boolean && !INFER_BOOLEAN_RE.test(v)) this.boolean = false;
    if (this.date && !isDate(v)) this.date = false;
    if (this.timestamp && !this.date && timestampMillis(v) === undefined) this.timestamp = false;
  }

  type(): LogicalType {
    if (!this.seen) return 'text';
    if (this.integer) return this.needsBigint ? 'bigint' : 'integer';
    // Integers too big for int64 with no fractional value among them are identifiers: keep every digit.
    if (this.number && this.fractional) return 'double';
    if (this.boolean) return 'boolean';
    if (this.date) return 'date';
    if (this.timestamp) return 'timestamp';
    return 'text';
  }
}

/**
 * Scans the whole file and infers a type per column. `overrides` (column -> type) win and
 * their values are checked during the scan, so a bad value fails before anything is loaded.
 */
export async function inferCsvSchema(file: string, overrides: Record<string, LogicalType> = {}): Promise<InferredColumn[]> {
  await checkReadable(file);
  const records = readRecords(file);
  try {
    const first = await records.next();
    const header = checkHeader(file, first.done ? undefined : first.value.fields, first.done ? 1 : first.value.line);
    checkOverrides(file, header, overrides);

    const width = header.length;
    // A Map, not `name in overrides`: a column called "constructor" must not hit Object.prototype.
    const declared = new Map(Object.entries(overrides));
    const evidence = header.map((name) => (declared.has(name) ? undefined : new ColumnEvidence()));
    const overrideChecks = header.map((name) => {
      const type = declared.get(name);
      return type === undefined ? undefined : CONVERTERS[type];
    });
    for await (const rec of records) {
      if (rec.fields.length !== width) throw raggedRowError(file, rec, width);
      for (let i = 0; i < width; i++) {
        const raw = rec.fields[i];
        const ev = evidence[i];
        if (ev) ev.add(raw);
        else if (overrideChecks[i]!(raw) === INVALID) throw invalidValueError(file, rec.line, header[i], declared.get(header[i])!, raw);
      }
    }
    return header.map((name, i) => ({ name, type: declared.get(name) ?? evidence[i]!.type() }));
  } finally {
    await records.return(undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Typed reads

/**
 * Streams the file's rows as arrays of typed values in `columns` order (columns are matched
 * to the header by name, so their order may differ from the file's). Values follow the
 * warehouse Row conventions: integers -> number (bigint beyond 2^53), double/decimal -> number,
 * date -> 'YYYY-MM-DD', timestamp -> Date (UTC unless an offset is given), json -> parsed value,
 * empty field -> null.
 */
export async function* readCsvBatches(file: string, columns: InferredColumn[], batchSize = DEFAULT_BATCH_SIZE): AsyncGenerator<unknown[][]> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  await checkReadable(file);
  const records = readRecords(file);
  try {
    const first = await records.next();
    const header = checkHeader(file, first.done ? undefined : first.value.fields, first.done ? 1 : first.value.line);
    const positions = columns.map((c) => header.indexOf(c.name));
    const missing = columns.filter((_, i) => positions[i] < 0).map((c) => c.name);
    if (missing.length > 0 || columns.length !== header.length) {
      const extra = header.filter((h) => !columns.some((c) => c.name === h));
      throw new CdpError(`the columns of ${file} changed since its schema was inferred`, {
        location: { file },
        hint: [missing.length ? `missing from the file: ${missing.join(', ')}` : '', extra.length ? `new in the file: ${extra.join(', ')}` : '']
          .filter(Boolean)
          .join('; '),
      });
    }
    const converters = columns.map((c) => {
      const converter = Object.hasOwn(CONVERTERS, c.type) ? CONVERTERS[c.type] : undefined;
      if (!converter) throw new CdpError(`unknown type "${String(c.type)}" for column "${c.name}" of ${file}`, { location: { file }, hint: `types: ${LOGICAL_TYPES.join(', ')}` });
      return converter;
    });
    const width = header.length;
    let batch: unknown[][] = [];
    for await (const rec of records) {
      if (rec.fields.length !== width) throw raggedRowError(file, rec, width);
      const row = new Array<unknown>(columns.length);
      for (let i = 0; i < columns.length; i++) {
        const raw = rec.fields[positions[i]];
        const value = converters[i](raw);
        if (value === INVALID) throw invalidValueError(file, rec.line, columns[i].name, columns[i].type, raw);
        row[i] = value;
      }
      batch.push(row);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    await records.return(undefined);
  }
}
