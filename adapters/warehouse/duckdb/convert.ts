/**
 * DuckDB values <-> the adapter-neutral JS values of `Row`. The library's own JS conversion
 * returns bigint for every BIGINT/HUGEINT (count(*), sum(int)) and Date for DATE, which would
 * differ from what the PostgreSQL adapter returns, so results go through `normalise` instead.
 */
import {
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBTimeValue,
  DuckDBTimestampTZValue,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  listValue,
  type DuckDBType,
  type DuckDBValue,
  type JS,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import { dateStringFromDays, integerValue, numberFromText, textOf } from '../../../src/warehouse/values.js';

export const normalise: DuckDBValueConverter<unknown> = (value, type, converter) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return typeof value === 'bigint' ? integerValue(value) : value;
    case DuckDBTypeId.DECIMAL:
      // Parsed from its exact text, as PostgreSQL NUMERIC is, so both adapters round identically.
      return value instanceof DuckDBDecimalValue ? numberFromText(value.toString()) : JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
    case DuckDBTypeId.DATE:
      // Infinite dates have no 'YYYY-MM-DD' form; their text ('infinity') matches PostgreSQL's.
      return value instanceof DuckDBDateValue && value.isFinite ? dateStringFromDays(value.days) : String(value);
    case DuckDBTypeId.TIME:
      // PostgreSQL returns TIME as 'HH:MM:SS[.ffffff]' text; DuckDB's JS conversion would give bigint micros.
      return value instanceof DuckDBTimeValue ? value.toString() : String(value);
    default:
      return JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
  }
};

interface ResultShape {
  columnTypes(): DuckDBType[];
  deduplicatedColumnNames(): string[];
}

/**
 * Names of the result's JSON columns. Chunk vectors do not carry the JSON alias (values reach
 * `normalise` as plain VARCHAR), so JSON is recognised from the result's column types instead.
 */
export function jsonColumns(result: ResultShape): string[] {
  const names = result.deduplicatedColumnNames();
  return result.columnTypes().flatMap((type, i) => (type.alias === 'JSON' ? [names[i]] : []));
}

/** Parses JSON columns in place, as pg does for json/jsonb. */
export function parseJsonColumns<T extends Record<string, unknown>>(rows: T[], columns: string[]): T[] {
  if (columns.length === 0) return rows;
  for (const row of rows) {
    for (const col of columns) {
      const text = row[col];
      if (typeof text === 'string') (row as Record<string, unknown>)[col] = JSON.parse(text);
    }
  }
  return rows;
}

/** Parameter values as DuckDB binds them: Date is not accepted natively. */
export function toDuckDbParam(value: unknown): DuckDBValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return new DuckDBTimestampTZValue(BigInt(value.getTime()) * 1000n);
  if (Array.isArray(value)) return listValue(value.map(toDuckDbParam));
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return value;
    default:
      return typeof value === 'object' && isDuckDbValueObject(value) ? (value as DuckDBValue) : textOf(value);
  }
}

function isDuckDbValueObject(value: object): boolean {
  return value.constructor?.name?.startsWith('DuckDB') ?? false;
}

export function toDuckDbParams(params: unknown[] | undefined): DuckDBValue[] | undefined {
  return params && params.length > 0 ? params.map(toDuckDbParam) : undefined;
}
