/**
 * A typed bulk-load fixture shared by the warehouse suites: row i of a table with one column of
 * each logical type, given as the loaders accept it (mixed JS types: bigint, numeric strings,
 * Dates, date strings, objects for JSON) and as every warehouse must read it back.
 */
import type { ColumnSpec } from '../../src/warehouse/types.js';

export const LOAD_COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'bigint' },
  { name: 'n', type: 'integer' },
  { name: 'name', type: 'text' },
  { name: 'score', type: 'double' },
  { name: 'amount', type: 'decimal' },
  { name: 'active', type: 'boolean' },
  { name: 'born', type: 'date' },
  { name: 'seen', type: 'timestamp' },
  { name: 'meta', type: 'json' },
];

const DAY = 86_400_000;

/** Text that CSV must quote, an empty string (not NULL), COPY's end-of-data marker, a quote and non-ASCII. */
export const nameOf = (i: number) => (i % 7 === 0 ? null : i === 3 ? 'a,"b"\nc\\.' : i === 4 ? '' : i === 5 ? '\\.' : i === 6 ? "it's ünïcode" : `name ${i}`);

export const inputRow = (i: number): unknown[] => [
  i === 1 ? 1n : i,
  i % 1000,
  nameOf(i),
  i / 4,
  i % 2 === 0 ? `${i}.125` : i + 0.5,
  i % 3 === 0,
  i % 2 === 0 ? '2024-01-15' : new Date(Date.UTC(2020, 0, 1) + (i % 365) * DAY),
  i % 2 === 0 ? '2024-03-01 12:00:00.250' : new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60)),
  i % 5 === 0 ? null : { k: i, tags: ['x'] },
];

export const expectedRow = (i: number) => ({
  id: i,
  n: i % 1000,
  name: nameOf(i),
  score: i / 4,
  amount: i % 2 === 0 ? i + 0.125 : i + 0.5,
  active: i % 3 === 0,
  born: i % 2 === 0 ? '2024-01-15' : new Date(Date.UTC(2020, 0, 1) + (i % 365) * DAY).toISOString().slice(0, 10),
  seen: i % 2 === 0 ? new Date('2024-03-01T12:00:00.250Z') : new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60)),
  meta: i % 5 === 0 ? null : { k: i, tags: ['x'] },
});

/** Rows 1..total as the loaders take them, `size` rows per batch. */
export async function* batchesOf(total: number, size: number): AsyncIterable<unknown[][]> {
  for (let start = 1; start <= total; start += size) {
    yield Array.from({ length: Math.min(size, total - start + 1) }, (_, k) => inputRow(start + k));
  }
}
