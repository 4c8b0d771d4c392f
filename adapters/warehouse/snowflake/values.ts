/**
 * Between the core's JS values and snowflake-sdk's: `$n` parameters become Snowflake's
 * numbered binds, parameter values become the scalars the driver can bind, and result values
 * are normalised as `Row` (types.ts) describes.
 */
import type { Bind } from 'snowflake-sdk';
import { numberFromText, textOf } from '../../../src/warehouse/values.js';
import { reportedName } from './names.js';

/**
 * `$1`, `$2`, ... -> `:1`, `:2`, ...: numbered binds, so a parameter may appear more than once.
 * String literals, quoted identifiers and comments are left alone.
 */
export function toNumberedBinds(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const end = skipLiteral(sql, i);
    if (end > i) {
      out += sql.slice(i, end);
      i = end;
    } else if (c === '$' && /\d/.test(sql[i + 1] ?? '') && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) {
      const digits = /^\d+/.exec(sql.slice(i + 1))![0];
      out += `:${digits}`;
      i += 1 + digits.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** End of the string literal, quoted identifier or comment starting at `i`, or `i` when none starts there. */
function skipLiteral(sql: string, i: number): number {
  const c = sql[i];
  if (c === "'") {
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === '\\') j += 2;
      else if (sql[j] === "'") {
        if (sql[j + 1] === "'") j += 2;
        else return j + 1;
      } else j++;
    }
    return sql.length;
  }
  if (c === '"') {
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === '"') {
        if (sql[j + 1] === '"') j += 2;
        else return j + 1;
      } else j++;
    }
    return sql.length;
  }
  if (c === '$' && sql[i + 1] === '$') {
    const close = sql.indexOf('$$', i + 2);
    return close < 0 ? sql.length : close + 2;
  }
  if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '/')) {
    const nl = sql.indexOf('\n', i);
    return nl < 0 ? sql.length : nl;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const close = sql.indexOf('*/', i + 2);
    return close < 0 ? sql.length : close + 2;
  }
  return i;
}

/** A parameter as a value the driver binds: Dates as UTC wall-clock text (for TIMESTAMP_NTZ), bigints as text. */
export function toBind(value: unknown): Bind {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    default:
      return textOf(value);
  }
}

export function toBinds(params: unknown[] | undefined): Bind[] | undefined {
  return params && params.length > 0 ? params.map(toBind) : undefined;
}

/** What the adapter needs of a driver result column. */
export interface ResultColumn {
  getName(): string;
  getType(): string;
}

type Converter = (value: unknown) => unknown;

const asDate: Converter = (v) => (v instanceof Date ? new Date(v.getTime()) : v);

const CONVERTERS: Record<string, Converter> = {
  // Numbers arrive as text (fetchAsString: ['Number']) so integers beyond 2^53 stay exact.
  fixed: (v) => (typeof v === 'string' ? numberFromText(v) : v),
  real: (v) => (typeof v !== 'string' ? v : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v)),
  // The driver's SfDate is a Date at UTC midnight, with extra methods.
  date: (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v),
  timestamp_ntz: asDate,
  timestamp_ltz: asDate,
  timestamp_tz: asDate,
};

export interface RowShape {
  names: string[];
  converters: (Converter | undefined)[];
}

export function rowShape(columns: ResultColumn[]): RowShape {
  return {
    names: columns.map((c) => reportedName(c.getName())),
    converters: columns.map((c) => CONVERTERS[c.getType()]),
  };
}

/** A driver row (rowMode 'array') as a `Row`. */
export function toRow(shape: RowShape, values: unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < shape.names.length; i++) {
    const v = values[i];
    const convert = shape.converters[i];
    row[shape.names[i]] = v === null || v === undefined ? null : convert ? convert(v) : v;
  }
  return row;
}

