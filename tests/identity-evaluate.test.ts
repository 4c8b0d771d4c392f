/**
 * Identity evaluation against hand-made resolved tables and truth files, on real DuckDB and
 * real PostgreSQL. Expected numbers are worked out by hand in the comments.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdpError } from '../src/errors.js';
import { evaluateIdentity, formatEvaluation, mapSources, type EvaluationResult } from '../src/identity/evaluate.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Relation, Warehouse } from '../src/warehouse/types.js';
import { createPgDatabase, dropPgDatabase, PG } from './helpers/project.js';

const STATE = 'cdp_identity_state';
const SCHEMA = 'analytics';

type Resolved = [source: string, recordKey: string, profileId: string][];
type Truth = [source: string, recordKey: string, personId: string][];

/** Three persons: P1 has three records, P2 two, P3 one, so there are 3 + 1 + 0 = 4 true pairs. */
const TRUTH: Truth = [
  ['crm', 'a1', 'P1'],
  ['crm', 'a2', 'P1'],
  ['orders', 'a3', 'P1'],
  ['crm', 'b1', 'P2'],
  ['orders', 'b2', 'P2'],
  ['crm', 'c1', 'P3'],
];

const PERFECT: Resolved = [
  ['crm', 'a1', 'X'],
  ['crm', 'a2', 'X'],
  ['orders', 'a3', 'X'],
  ['crm', 'b1', 'Y'],
  ['orders', 'b2', 'Y'],
  ['crm', 'c1', 'Z'],
];

function csv(rows: Truth, header = 'source,record_key,person_id'): string {
  return [header, ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

interface Setup {
  name: string;
  open(): Promise<{ target: TargetConfig; cleanup(): Promise<void> }>;
}

const setups: Setup[] = [
  { name: 'duckdb', open: async () => ({ target: { type: 'duckdb', path: ':memory:' }, cleanup: async () => undefined }) },
  {
    name: 'postgres',
    open: async () => {
      const database = await createPgDatabase();
      return { target: { type: 'postgres', ...PG, database }, cleanup: () => dropPgDatabase(database) };
    },
  },
];

describe.each(setups)('evaluateIdentity on $name', (setup) => {
  let wh: Warehouse;
  let cleanup: () => Promise<void>;
  let dir: string;
  let tableCount = 0;

  beforeAll(async () => {
    const opened = await setup.open();
    cleanup = opened.cleanup;
    wh = await openWarehouse(opened.target);
    await wh.execute(wh.dialect.createSchema(SCHEMA));
    dir = mkdtempSync(join(tmpdir(), 'cdp-identity-eval-'));
  });

  afterAll(async () => {
    await wh?.close();
    await cleanup?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function resolvedTable(rows: Resolved): Promise<Relation> {
    const rel = { schema: SCHEMA, name: `customer_source_records_${++tableCount}` };
    const d = wh.dialect;
    await wh.execute(d.createTable(rel, [{ name: 'source', type: 'text' }, { name: 'record_key', type: 'text' }, { name: 'profile_id', type: 'text' }]));
    if (rows.length > 0) {
      await wh.execute(`INSERT INTO ${d.relation(rel)} VALUES ${rows.map((r) => `(${r.map((v) => d.quoteString(v)).join(', ')})`).join(', ')}`);
    }
    return rel;
  }

  function truthFile(text: string): string {
    const file = join(dir, `truth_${++tableCount}.csv`);
    writeFileSync(file, text);
    return file;
  }

  async function evaluate(resolved: Resolved, truth: string, sourceMap?: Record<string, string>): Promise<EvaluationResult> {
    return evaluateIdentity(wh, { sourceRecords: await resolvedTable(resolved), truthFile: truthFile(truth), stateSchema: STATE, sourceMap });
  }

  async function scratchTables(): Promise<string[]> {
    return (await wh.relations(STATE)).map((r) => r.name).filter((n) => n.startsWith('identity_truth_'));
  }

  it('scores a perfect resolution 1 and leaves no scratch table behind', async () => {
    const r = await evaluate(PERFECT, csv(TRUTH));
    expect(r).toEqual({
      records: 6,
      unmatchedTruth: 0,
      unmatchedResolved: 0,
      truePairs: 4,
      predictedPairs: 4,
      correctPairs: 4,
      precision: 1,
      recall: 1,
      f1: 1,
      truthClusters: 3,
      predictedClusters: 3,
      worstMerges: [],
      worstSplits: [],
    });
    expect(await scratchTables()).toEqual([]);
  });

  it('counts one wrong merge', async () => {
    // P2 and P3 merged into Y = {b1, b2, c1}. Predicted pairs: X 3 + Y 3 = 6.
    // Correct: (X,P1) 3 + (Y,P2) 1 + (Y,P3) 0 = 4. P = 4/6, R = 4/4, F1 = 2PR/(P+R) = 0.8.
    const merged: Resolved = PERFECT.map(([s, k, p]) => [s, k, p === 'Z' ? 'Y' : p]);
    const r = await evaluate(merged, csv(TRUTH));
    expect(r).toMatchObject({ records: 6, truePairs: 4, predictedPairs: 6, correctPairs: 4, truthClusters: 3, predictedClusters: 2 });
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBe(1);
    expect(r.f1).toBeCloseTo(0.8, 12);
    expect(r.worstMerges).toEqual([{ profile_id: 'Y', records: 3, persons: 2 }]);
    expect(r.worstSplits).toEqual([]);

    const report = formatEvaluation(r);
    expect(report).toContain('precision 66.67%  recall 100.00%  F1 80.00%');
    expect(report).toContain('Y: 3 records, 2 persons');
    expect(report).not.toContain('worst splits');
  });

  it('counts one split', async () => {
    // P1 split: a1, a2 -> X and a3 -> W. Predicted pairs: X 1 + W 0 + Y 1 + Z 0 = 2, all correct.
    // P = 2/2, R = 2/4, F1 = 2 * 0.5 / 1.5 = 2/3.
    const split: Resolved = PERFECT.map(([s, k, p]) => [s, k, k === 'a3' ? 'W' : p]);
    const r = await evaluate(split, csv(TRUTH));
    expect(r).toMatchObject({ records: 6, truePairs: 4, predictedPairs: 2, correctPairs: 2, precision: 1, recall: 0.5, truthClusters: 3, predictedClusters: 4 });
    expect(r.f1).toBeCloseTo(2 / 3, 12);
    expect(r.worstMerges).toEqual([]);
    expect(r.worstSplits).toEqual([{ person_id: 'P1', records: 3, profiles: 2 }]);
    expect(formatEvaluation(r)).toContain('P1: 3 records, 2 profiles');
  });

  it('orders several merges and splits worst first', async () => {
    // Q: X mixes P1, P2, P3 (6 records); Y holds b3 (P2) only. P2 spans X and Y.
    const truth: Truth = [...TRUTH, ['crm', 'b3', 'P2'], ['crm', 'd1', 'P4'], ['crm', 'd2', 'P5']];
    const resolved: Resolved = [...PERFECT.map(([s, k]): [string, string, string] => [s, k, 'X']), ['crm', 'b3', 'Y'], ['crm', 'd1', 'V'], ['crm', 'd2', 'V']];
    const r = await evaluate(resolved, csv(truth));
    expect(r.worstMerges).toEqual([
      { profile_id: 'X', records: 6, persons: 3 },
      { profile_id: 'V', records: 2, persons: 2 },
    ]);
    expect(r.worstSplits).toEqual([{ person_id: 'P2', records: 3, profiles: 2 }]);
    // Pairs: true 3 (P1) + 3 (P2) = 6; predicted X 15 + V 1 = 16; correct (X,P1) 3 + (X,P2) 1 = 4.
    expect(r).toMatchObject({ truePairs: 6, predictedPairs: 16, correctPairs: 4 });
  });

  it('restricts pair counts to records on both sides and counts the rest as unmatched', async () => {
    // Truth-only: a4 (P1, unresolved) and an events record. Resolved-only: e1, in profile X.
    // Neither may add pairs: X stays at 3 predicted pairs and P1 at 3 true pairs.
    const truth: Truth = [...TRUTH, ['crm', 'a4', 'P1'], ['events', 'ev1', 'P3']];
    const resolved: Resolved = [...PERFECT, ['crm', 'e1', 'X']];
    const r = await evaluate(resolved, csv(truth));
    expect(r).toMatchObject({ records: 6, unmatchedTruth: 2, unmatchedResolved: 1, truePairs: 4, predictedPairs: 4, correctPairs: 4, precision: 1, recall: 1 });
    expect(formatEvaluation(r)).toContain('records compared: 6 (2 truth rows unresolved, 1 resolved records not in the truth)');
  });

  it('maps stg_ sources to raw_ truth sources, and honours an explicit sourceMap', async () => {
    // Keys repeat across sources with different persons, so the source must take part in the join.
    const truth: Truth = [
      ['raw_crm_contacts', '1', 'P1'],
      ['raw_crm_contacts', '2', 'P2'],
      ['raw_orders', '1', 'P2'],
      ['raw_orders', '2', 'P1'],
      ['raw_events', '007', 'P1'],
      ['raw_support_tickets', '1', 'P2'],
    ];
    const resolved: Resolved = [
      ['stg_crm_contacts', '1', 'X'],
      ['stg_crm_contacts', '2', 'Y'],
      ['stg_orders', '1', 'Y'],
      ['stg_orders', '2', 'X'],
      ['raw_events', '007', 'X'], // already a truth name: kept as is
      ['tickets_clean', '1', 'Y'],
    ];
    const r = await evaluate(resolved, csv(truth), { tickets_clean: 'raw_support_tickets' });
    expect(r).toMatchObject({ records: 6, unmatchedTruth: 0, unmatchedResolved: 0, truePairs: 6, predictedPairs: 6, correctPairs: 6, precision: 1, recall: 1 });

    // Without the explicit entry the tickets record has no counterpart; the convention still applies.
    const r2 = await evaluate(resolved, csv(truth));
    expect(r2).toMatchObject({ records: 5, unmatchedTruth: 1, unmatchedResolved: 1, correctPairs: 4, predictedPairs: 4, truePairs: 4 });
  });

  it('reads truth files with extra, reordered columns, a BOM and keys with leading zeros', async () => {
    const text = '\uFEFFperson_id,note,record_key,source\nP1,x,007,crm\nP1,"a, b",08,crm\nP2,,9,crm\n';
    const r = await evaluate([['crm', '007', 'X'], ['crm', '08', 'X'], ['crm', '9', 'Y']], text);
    expect(r).toMatchObject({ records: 3, unmatchedTruth: 0, truePairs: 1, predictedPairs: 1, correctPairs: 1 });
  });

  it('counts pairs beyond 2^31 exactly', async () => {
    // One person with 70,000 records, all in one profile: 70000 * 69999 / 2 = 2,449,965,000 pairs.
    const n = 70_000;
    const lines = ['source,record_key,person_id'];
    for (let i = 1; i <= n; i++) lines.push(`crm,${i},P1`);
    const rel = { schema: SCHEMA, name: `customer_source_records_${++tableCount}` };
    const d = wh.dialect;
    await wh.execute(
      d.createTableAs(rel, `SELECT 'crm' AS source, ${d.cast('g', 'text')} AS record_key, 'X' AS profile_id FROM generate_series(1, ${n}) AS s(g)`),
    );
    const r = await evaluateIdentity(wh, { sourceRecords: rel, truthFile: truthFile(lines.join('\n')), stateSchema: STATE });
    expect(r).toMatchObject({ records: n, truePairs: 2_449_965_000, predictedPairs: 2_449_965_000, correctPairs: 2_449_965_000, precision: 1, recall: 1 });
  });

  it('gives precision and recall 1 when there are no pairs at all', async () => {
    const r = await evaluate([['crm', 'a1', 'X']], csv([['crm', 'a1', 'P1']]));
    expect(r).toMatchObject({ records: 1, truePairs: 0, predictedPairs: 0, correctPairs: 0, precision: 1, recall: 1, f1: 1 });
  });

  it('rejects a missing truth file, naming it and the expected columns', async () => {
    const missing = join(dir, 'nope.csv');
    const err = await evaluateIdentity(wh, { sourceRecords: await resolvedTable(PERFECT), truthFile: missing, stateSchema: STATE }).catch((e) => e);
    expect(err).toBeInstanceOf(CdpError);
    expect(err.message).toBe(`ground-truth file ${missing} does not exist`);
    expect(err.hint).toContain('source, record_key, person_id');
  });

  it('rejects a truth file without the three columns', async () => {
    const file = truthFile('source,key,person\ncrm,a1,P1\n');
    const err = await evaluateIdentity(wh, { sourceRecords: await resolvedTable(PERFECT), truthFile: file, stateSchema: STATE }).catch((e) => e);
    expect(err).toBeInstanceOf(CdpError);
    expect(err.message).toBe(`ground-truth file ${file} has no record_key, person_id columns`);
    expect(err.hint).toContain('expected a CSV whose header names the columns source, record_key, person_id');
    expect(err.hint).toContain('the header has: source, key, person');

    const empty = truthFile('');
    await expect(evaluateIdentity(wh, { sourceRecords: await resolvedTable(PERFECT), truthFile: empty, stateSchema: STATE })).rejects.toThrow(
      `ground-truth file ${empty} is empty`,
    );
  });

  it('rejects empty values and conflicting persons in the truth, dropping the scratch table', async () => {
    const blank = truthFile('source,record_key,person_id\ncrm,a1,P1\ncrm,a2,\n');
    await expect(evaluateIdentity(wh, { sourceRecords: await resolvedTable(PERFECT), truthFile: blank, stateSchema: STATE })).rejects.toThrow(
      `ground-truth file ${blank}: data row 2 has an empty person_id`,
    );
    expect(await scratchTables()).toEqual([]);

    const conflicting = truthFile(csv([...TRUTH, ['orders', 'b2', 'P9']]));
    await expect(evaluateIdentity(wh, { sourceRecords: await resolvedTable(PERFECT), truthFile: conflicting, stateSchema: STATE })).rejects.toThrow(
      `ground-truth file ${conflicting} gives record orders/b2 2 different person_ids`,
    );
    expect(await scratchTables()).toEqual([]);
  });

  it('rejects a missing resolved table and a record resolved to two profiles', async () => {
    const rel = { schema: SCHEMA, name: 'no_such_source_records' };
    await expect(evaluateIdentity(wh, { sourceRecords: rel, truthFile: truthFile(csv(TRUTH)), stateSchema: STATE })).rejects.toThrow(
      `resolved records table ${SCHEMA}.no_such_source_records does not exist`,
    );

    const twice = await resolvedTable([...PERFECT, ['crm', 'a1', 'Y']]);
    const err = await evaluateIdentity(wh, { sourceRecords: twice, truthFile: truthFile(csv(TRUTH)), stateSchema: STATE }).catch((e) => e);
    expect(err).toBeInstanceOf(CdpError);
    expect(err.message).toBe(`resolved records table ${SCHEMA}.${twice.name} puts record crm/a1 in 2 profiles`);
    expect(await scratchTables()).toEqual([]);
  });
});

describe('mapSources', () => {
  it('prefers explicit entries, then equal names, then the stg_/raw_ convention', () => {
    const m = mapSources(
      ['stg_crm', 'raw_orders', 'stg_events', 'custom', 'stg_missing', 'raw_tickets'],
      ['raw_crm', 'raw_orders', 'stg_events', 'raw_events', 'truth_custom', 'stg_tickets'],
      { custom: 'truth_custom' },
    );
    expect(Object.fromEntries(m)).toEqual({ stg_crm: 'raw_crm', custom: 'truth_custom', raw_tickets: 'stg_tickets' });
  });
});
