/**
 * Our `$1..$n` parameters as BigQuery positional `?` parameters. BigQuery binds `?` in order of
 * appearance, so `$2 ... $1 ... $2` becomes three parameters. Query parameters are built in the
 * REST shape directly (parameterMode POSITIONAL), with explicit types: BigQuery has no untyped
 * NULL, and a JS number alone does not say INT64 or FLOAT64.
 */
import { textOf } from '../../../src/warehouse/values.js';

export interface QueryParameterType {
  type: string;
  arrayType?: QueryParameterType;
}

export interface QueryParameterValue {
  value?: string;
  arrayValues?: QueryParameterValue[];
}

export interface QueryParameter {
  parameterType: QueryParameterType;
  parameterValue: QueryParameterValue;
}

export interface PositionalQuery {
  sql: string;
  parameters: QueryParameter[];
}

/** Rewrites `$n` outside literals, identifiers and comments; returns the parameters in `?` order. */
export function toPositional(sql: string, params: unknown[] | undefined): PositionalQuery {
  const values = params ?? [];
  const parameters: QueryParameter[] = [];
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const skip = skipNonCode(sql, i);
    if (skip > i) {
      out += sql.slice(i, skip);
      i = skip;
      continue;
    }
    const ch = sql[i];
    if (ch === '$' && /\d/.test(sql[i + 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      let j = i + 1;
      while (/\d/.test(sql[j] ?? '')) j++;
      const n = Number(sql.slice(i + 1, j));
      if (n < 1 || n > values.length) throw new Error(`query uses $${n} but ${values.length} parameter${values.length === 1 ? ' was' : 's were'} given`);
      parameters.push(toQueryParameter(values[n - 1]));
      out += '?';
      i = j;
      continue;
    }
    out += ch;
    i++;
  }
  return { sql: out, parameters };
}

/**
 * The end of a string literal, quoted identifier or comment starting at `i`, or `i` itself.
 * BigQuery strings take backslash escapes, optional r/b prefixes and triple quotes; `#` and
 * `--` start line comments.
 */
export function skipNonCode(sql: string, i: number): number {
  const ch = sql[i];
  const next = sql[i + 1];
  if (ch === '-' && next === '-') return lineEnd(sql, i);
  if (ch === '#') return lineEnd(sql, i);
  if (ch === '/' && next === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  let start = i;
  let raw = false;
  // r'', b'', rb'' and br'' prefixes, only where they start a token.
  if (/[rRbB]/.test(ch ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
    let j = i;
    while (j < i + 2 && /[rRbB]/.test(sql[j] ?? '')) {
      if (/[rR]/.test(sql[j])) raw = true;
      j++;
    }
    if (sql[j] !== "'" && sql[j] !== '"') return i;
    start = j;
  }
  const quote = sql[start];
  if (quote !== "'" && quote !== '"' && quote !== '`') return i;
  const triple = quote !== '`' && sql.startsWith(quote.repeat(3), start);
  const closer = triple ? quote.repeat(3) : quote;
  let j = start + closer.length;
  while (j < sql.length) {
    if (sql[j] === '\\' && !raw) {
      j += 2;
      continue;
    }
    if (sql.startsWith(closer, j)) return j + closer.length;
    j++;
  }
  return sql.length;
}

function lineEnd(sql: string, i: number): number {
  const end = sql.indexOf('\n', i);
  return end < 0 ? sql.length : end;
}

/** One JS value as a typed BigQuery query parameter. */
export function toQueryParameter(value: unknown): QueryParameter {
  const parameterType = typeOf(value);
  return { parameterType, parameterValue: valueOf(value, parameterType) };
}

function typeOf(value: unknown): QueryParameterType {
  if (value === null || value === undefined) return { type: 'STRING' };
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null && v !== undefined);
    return { type: 'ARRAY', arrayType: first === undefined ? { type: 'STRING' } : typeOf(first) };
  }
  if (value instanceof Date) return { type: 'TIMESTAMP' };
  if (Buffer.isBuffer(value)) return { type: 'BYTES' };
  switch (typeof value) {
    case 'boolean':
      return { type: 'BOOL' };
    case 'bigint':
      return { type: 'INT64' };
    case 'number':
      return { type: Number.isSafeInteger(value) ? 'INT64' : 'FLOAT64' };
    case 'string':
      return { type: 'STRING' };
    default:
      return { type: 'JSON' };
  }
}

function valueOf(value: unknown, type: QueryParameterType): QueryParameterValue {
  // A parameter value without `value` is NULL of its type.
  if (value === null || value === undefined) return {};
  if (type.type === 'ARRAY') return { arrayValues: (value as unknown[]).map((v) => valueOf(v, type.arrayType!)) };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('cannot bind an invalid Date');
    return { value: value.toISOString() };
  }
  if (Buffer.isBuffer(value)) return { value: value.toString('base64') };
  if (type.type === 'JSON') return { value: textOf(value) };
  if (typeof value === 'number' && !Number.isFinite(value)) return { value: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
  return { value: String(value) };
}
