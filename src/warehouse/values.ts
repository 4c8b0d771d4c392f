/**
 * Value normalisation shared by the warehouse adapters, so every adapter hands the core the
 * same JS values (see `Row` in types.ts) and accepts the same JS values for bulk loads.
 * Timestamps are UTC throughout: a timestamp without a zone is read as UTC, never local time,
 * because the machine running the CLI says nothing about the data's zone.
 */

const MICROS_PER_MS = 1000n;
const MS_PER_DAY = 86_400_000;

/** A warehouse integer as a JS number, or a bigint when a number would lose precision. */
export function integerValue(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** A decimal rendered as text (pg NUMERIC, pg INT8): integral values beyond 2^53 stay exact as bigint. */
export function numberFromText(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  return Number(text);
}

/** 'YYYY-MM-DD' for a day count since 1970-01-01. */
export function dateStringFromDays(days: number): string {
  return new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
}

const TIMESTAMP_TEXT =
  /^(\d{4,})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

/**
 * Microseconds since the epoch for an ISO-like timestamp text ('2024-01-02 03:04:05.123456',
 * '2024-01-02T03:04:05Z', '2024-01-02 03:04:05+05:30', or a bare date). No zone means UTC.
 * Returns undefined for anything else (BC dates, 'infinity'), so callers can fall back.
 */
export function parseTimestampMicros(text: string): bigint | undefined {
  const m = TIMESTAMP_TEXT.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const ms = date.getTime();
  if (Number.isNaN(ms)) return undefined;
  const micros = BigInt(ms) * MICROS_PER_MS + BigInt((frac + '000000').slice(0, 6));
  return micros - BigInt(zoneOffsetSeconds(zone)) * 1_000_000n;
}

function zoneOffsetSeconds(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(/:/g, '');
  const seconds = Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || 0) * 60 + Number(digits.slice(4, 6) || 0);
  return zone[0] === '-' ? -seconds : seconds;
}

/** A JS Date from epoch microseconds; sub-millisecond digits are dropped (truncated, like DuckDB's own conversion). */
export function dateFromMicros(micros: bigint): Date {
  const ms = micros / MICROS_PER_MS - (micros % MICROS_PER_MS < 0n ? 1n : 0n);
  return new Date(Number(ms));
}

/** Epoch microseconds for a bulk-load timestamp value: a Date, an ISO-like string or epoch milliseconds. */
export function timestampMicrosOf(value: unknown): bigint {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError('invalid Date');
    return BigInt(value.getTime()) * MICROS_PER_MS;
  }
  if (typeof value === 'string') {
    const micros = parseTimestampMicros(value);
    if (micros === undefined) throw new TypeError(`not a timestamp: ${JSON.stringify(value)}`);
    return micros;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value)) * MICROS_PER_MS;
  throw new TypeError(`not a timestamp: ${describeValue(value)}`);
}

/** Days since 1970-01-01 for a bulk-load date value: 'YYYY-MM-DD' (or a longer timestamp text) or a Date (its UTC day). */
export function dateDaysOf(value: unknown): number {
  const micros = typeof value === 'string' || value instanceof Date ? timestampMicrosOf(value) : undefined;
  if (micros === undefined) throw new TypeError(`not a date: ${describeValue(value)}`);
  return Math.floor(Number(micros / MICROS_PER_MS) / MS_PER_DAY);
}

/** '2024-01-02 03:04:05.123456+00' style UTC text, exact to the microsecond. */
export function timestampTextUtc(micros: bigint): string {
  const date = dateFromMicros(micros);
  const subMs = ((micros % MICROS_PER_MS) + MICROS_PER_MS) % MICROS_PER_MS;
  const fraction = String(date.getUTCMilliseconds()).padStart(3, '0') + String(subMs).padStart(3, '0');
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)}.${fraction}+00`;
}

export function booleanOf(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', 't', 'yes', 'y', '1'].includes(v)) return true;
    if (['false', 'f', 'no', 'n', '0'].includes(v)) return false;
  }
  throw new TypeError(`not a boolean: ${describeValue(value)}`);
}

export function numberOf(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (Number.isNaN(n) && value !== 'NaN') throw new TypeError(`not a number: ${describeValue(value)}`);
  return n;
}

export function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) return BigInt(value.trim());
  throw new TypeError(`not an integer: ${describeValue(value)}`);
}

export function int32Of(value: unknown): number {
  const n = bigintOf(value);
  if (n < -2147483648n || n > 2147483647n) throw new TypeError(`out of range for integer: ${n}`);
  return Number(n);
}

/** Text for a text or json column: objects are serialised as JSON, Dates as ISO text. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return String(value);
}

export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
