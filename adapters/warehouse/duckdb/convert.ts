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
    case DuckDBTypeId.VARCHAR:
      return type.alias === 'JSON' ? JSON.parse(String(value)) : String(value);
    default:
      return JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
  }
};

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
