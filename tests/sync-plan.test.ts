/**
 * The pieces the plan and the commits rest on: the dialects' 64-bit row hash on real DuckDB
 * and PostgreSQL, and the seq ranges that name confirmed plan rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeRanges, toRanges } from '../src/sync/commit.js';
import { PlannedBatch } from '../src/sync/operation.js';
import { openWarehouse } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { PG, createPgDatabase, dropPgDatabase } from './helpers/project.js';

describe.each(['duckdb', 'postgres'] as const)('rowHash on %s', (type) => {
  let wh: Warehouse;
  let db = '';
  beforeAll(async () => {
    if (type === 'postgres') db = await createPgDatabase();
    wh = await openWarehouse(type === 'duckdb' ? { type, path: ':memory:' } : { type, ...PG, database: db });
  });
  afterAll(async () => {
    await wh.close();
    if (db) await dropPgDatabase(db);
  });

  it('is a BIGINT that tells apart NULL, empty text and values moved between columns', async () => {
    const d = wh.dialect;
    const t = d.typeName('text');
    const hash = (a: string, b: string) => d.rowHash([`CAST(${a} AS ${t})`, `CAST(${b} AS ${t})`]);
    await wh.execute(`CREATE TABLE h (v ${d.typeName('bigint')})`);
    const cases = [["'ab'", "'c'"], ["'a'", "'bc'"], ["'a'", 'NULL'], ["'a'", "''"], ['NULL', "'a'"], ['NULL', 'NULL']];
    for (const [a, b] of cases) await wh.execute(`INSERT INTO h SELECT ${hash(a, b)}`);
    await wh.execute(`INSERT INTO h SELECT ${hash("'ab'", "'c'")}`);
    const rows = await wh.query<{ v: number | string }>('SELECT v FROM h');
    expect(rows.every((r) => r.v !== null)).toBe(true);
    const values = rows.map((r) => String(r.v));
    expect(new Set(values.slice(0, cases.length)).size).toBe(cases.length);
    expect(values[cases.length]).toBe(values[0]);
  });

  it('builds fields JSON that parses even with NaN and infinite doubles', async () => {
    const d = wh.dialect;
    const nan = d.cast(d.quoteString('NaN'), 'double');
    const inf = d.cast(d.quoteString('-Infinity'), 'double');
    const [row] = await wh.query<{ j: string }>(`SELECT ${d.jsonObject([['a', nan], ['b', inf], ['c', d.quoteString('x":NaN,')], ['d', '1.5']])} AS j`);
    const parsed = JSON.parse(row!.j) as Record<string, unknown>;
    // DuckDB gives null (as JSON.stringify does); PostgreSQL quotes them.
    expect([null, 'NaN']).toContain(parsed.a);
    expect([null, '-Infinity']).toContain(parsed.b);
    expect(parsed.c).toBe('x":NaN,');
    expect(parsed.d).toBe(1.5);
  });

  it('tells apart values whose payloads differ even where the native hash collides', async () => {
    const d = wh.dialect;
    // A NULL list, an empty list and [NULL]; 0, false and 0.0 (each as its own column type).
    const cases = type === 'duckdb'
      ? ['CAST(NULL AS INTEGER[])', 'CAST([] AS INTEGER[])', '[CAST(NULL AS INTEGER)]', '0', 'false', '0.0']
      : ['CAST(NULL AS INTEGER[])', "CAST('{}' AS INTEGER[])", 'ARRAY[CAST(NULL AS INTEGER)]', '0', 'false', '0.0'];
    const values = await Promise.all(cases.map(async (c) => String((await wh.query<{ v: unknown }>(`SELECT ${d.rowHash([c])} AS v`))[0]!.v)));
    expect(new Set(values).size).toBe(cases.length);
  });
});

describe('seq ranges', () => {
  it('collapse sorted or shuffled seqs into runs, and merge overlapping runs', () => {
    expect(toRanges([5, 1, 2, 3, 9, 10, 2])).toEqual([[1, 3], [5, 5], [9, 10]]);
    expect(toRanges([])).toEqual([]);
    expect(mergeRanges([[11, 20], [1, 10], [30, 30], [15, 25]])).toEqual([[1, 25], [30, 30]]);
  });
});

describe('planned operations', () => {
  it('carry the fields JSON as read, parse it only when read, and serialise with their fields', () => {
    const batch = new PlannedBatch();
    batch.push({ seq: 7, key: 'p1', change: 'change', op: 'add', fields: '{"email":"a@b.com","n":12345678901234567890}' });
    batch.push({ seq: 8, key: 'p2', change: 'remove', op: 'remove', fields: null });
    expect(batch.seqs).toEqual([7, 8]);
    expect(batch.changes).toEqual(['change', 'remove']);
    const [a, b] = batch.ops;
    expect(a.fieldsJson).toBe('{"email":"a@b.com","n":12345678901234567890}');
    expect(a.fields.email).toBe('a@b.com');
    expect(b.fields).toEqual({});
    expect(JSON.parse(JSON.stringify(a))).toEqual({ op: 'add', key: 'p1', fields: { email: 'a@b.com', n: 12345678901234567890 } });
    expect(() => batch.push({ seq: 9, key: 'p3', change: 'add', op: 'skip', fields: '{}' })).toThrow(/op "skip"/);
  });
});
