/**
 * Per-query type parsers that give PostgreSQL results the adapter-neutral JS values of `Row`.
 * They are passed in each query's config rather than installed with pg's global
 * `types.setTypeParser`, which would change every other pg user in the process.
 */
import pg from 'pg';
import { dateFromMicros, numberFromText, parseTimestampMicros } from '../../../src/warehouse/values.js';

type Parser = (text: string) => unknown;

const OID = {
  int8: 20,
  numeric: 1700,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  int8Array: 1016,
  numericArray: 1231,
  dateArray: 1182,
  timestampArray: 1115,
  timestamptzArray: 1185,
  textArray: 1009,
} as const;

/** pg parses timestamps through local-time Dates; this reads zone-less text as UTC. */
const timestamp: Parser = (text) => {
  const micros = parseTimestampMicros(text);
  return micros === undefined ? text : dateFromMicros(micros);
};

const identity: Parser = (text) => text;

const SCALARS = new Map<number, Parser>([
  [OID.int8, numberFromText],
  [OID.numeric, numberFromText],
  [OID.date, identity],
  [OID.timestamp, timestamp],
  [OID.timestamptz, timestamp],
]);

// The text[] parser splits any one-dimensional or nested array literal into element texts.
const builtinParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => Parser;
const splitArray = builtinParser(OID.textArray, 'text') as (text: string) => unknown[];

function arrayOf(element: Parser): Parser {
  const convert = (item: unknown): unknown => (item === null ? null : Array.isArray(item) ? item.map(convert) : element(String(item)));
  return (text) => splitArray(text).map(convert);
}

const PARSERS = new Map<number, Parser>([
  ...SCALARS,
  [OID.int8Array, arrayOf(numberFromText)],
  [OID.numericArray, arrayOf(numberFromText)],
  [OID.dateArray, arrayOf(identity)],
  [OID.timestampArray, arrayOf(timestamp)],
  [OID.timestamptzArray, arrayOf(timestamp)],
]);

export const resultTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text' && PARSERS.has(oid) ? PARSERS.get(oid) : builtinParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * pg sends a Date as local time with an offset, which a `timestamp without time zone`
 * column stores as local wall time. ISO text in UTC is right for both timestamp types.
 */
export function toPgParams(params: unknown[] | undefined): unknown[] | undefined {
  return params?.map(toPgParam);
}

function toPgParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toPgParam);
  return value;
}
