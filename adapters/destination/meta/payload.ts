/**
 * Rows to Meta's multi-key payload. Every PII column is normalised and hashed here, before a
 * request body exists; only EXTERN_ID travels as given (Meta documents it as unhashed).
 */
import { metaHash } from '../../../src/destination/hashing.js';

interface Column {
  field: string;
  schema: string;
  prepare: (value: unknown) => string | undefined;
}

const externId = (value: unknown): string | undefined => {
  if (value === null || value === undefined) return undefined;
  const v = String(value).trim();
  return v === '' ? undefined : v;
};

/** Column order is fixed so a batch's schema only depends on which columns it uses. */
export const META_COLUMNS: Column[] = [
  { field: 'email', schema: 'EMAIL', prepare: metaHash.email },
  { field: 'phone', schema: 'PHONE', prepare: metaHash.phone },
  { field: 'first_name', schema: 'FN', prepare: metaHash.name },
  { field: 'last_name', schema: 'LN', prepare: metaHash.name },
  { field: 'external_id', schema: 'EXTERN_ID', prepare: externId },
];

/** Names only sharpen a match; on their own they identify nobody, so a row needs one of these. */
const PRIMARY = new Set(['EMAIL', 'PHONE', 'EXTERN_ID']);

export const NO_IDENTIFIER = 'no usable identifier (email, phone or external_id did not normalise)';

/** Schema key -> prepared value, or undefined when the row has no usable primary identifier. */
export function prepareRow(fields: Record<string, unknown>): Map<string, string> | undefined {
  const values = new Map<string, string>();
  for (const col of META_COLUMNS) {
    const v = col.prepare(fields[col.field]);
    if (v !== undefined) values.set(col.schema, v);
  }
  return [...values.keys()].some((k) => PRIMARY.has(k)) ? values : undefined;
}

export interface MetaPayload {
  schema: string[];
  data: string[][];
}

/** Only the columns some row uses; Meta takes '' for a key a row lacks. */
export function buildPayload(rows: Map<string, string>[]): MetaPayload {
  const schema = META_COLUMNS.map((c) => c.schema).filter((s) => rows.some((r) => r.has(s)));
  return { schema, data: rows.map((r) => schema.map((s) => r.get(s) ?? '')) };
}
