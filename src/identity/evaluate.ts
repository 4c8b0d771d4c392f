/**
 * Accuracy of identity resolution against a ground truth (such as the demo generator's
 * `ground_truth.csv`): pairwise precision, recall and F1, plus the worst merges and splits.
 *
 * Everything is computed in the warehouse: the truth is bulk-loaded into a scratch table next
 * to the identity state, and only aggregates (and a handful of worst-cluster rows) come back.
 * Pairwise metrics count, for every two records present on both sides, whether they share a
 * profile and whether they share a person; sum(n*(n-1)/2) over groups gives those counts
 * without ever forming the pairs.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { CdpError } from '../errors.js';
import { readCsvBatches, type InferredColumn } from '../seeds/csv.js';
import type { ColumnSpec, Relation, Warehouse } from '../warehouse/types.js';

export interface EvaluationResult {
  /** Records present both in the resolved output and in the truth. */
  records: number;
  /** Truth rows with no resolved record. */
  unmatchedTruth: number;
  /** Resolved records not in the truth. */
  unmatchedResolved: number;
  /** Pairs of (matched) records that belong to the same true person. */
  truePairs: number;
  /** Pairs of (matched) records that share a resolved profile. */
  predictedPairs: number;
  /** Pairs that share both. */
  correctPairs: number;
  precision: number;
  recall: number;
  f1: number;
  /** Distinct true persons among the matched records. */
  truthClusters: number;
  /** Distinct profiles among the matched records. */
  predictedClusters: number;
  /** Largest predicted clusters with how many true persons they mix. */
  worstMerges: { profile_id: string; records: number; persons: number }[];
  /** True persons split over the most profiles. */
  worstSplits: { person_id: string; records: number; profiles: number }[];
}

export interface EvaluateOptions {
  /** The identity stage's `<entity>_source_records (source, record_key, profile_id)`. */
  sourceRecords: Relation;
  /** CSV with columns source, record_key, person_id: one row per raw record. */
  truthFile: string;
  /** Schema for the scratch truth table (created if missing; the table is always dropped). */
  stateSchema: string;
  /**
   * Identity source name -> truth source name. Sources not listed keep their name when the
   * truth has it, else map by the `stg_<x>` <-> `raw_<x>` convention when the truth has that.
   */
  sourceMap?: Record<string, string>;
  /** How many worst merges and splits to report (default 10). */
  top?: number;
}

const TRUTH_COLUMNS = ['source', 'record_key', 'person_id'] as const;
const EXPECTED = `a CSV whose header names the columns ${TRUTH_COLUMNS.join(', ')}, with one row per raw record (as written by the demo generator)`;
const DEFAULT_TOP = 10;

export async function evaluateIdentity(wh: Warehouse, opts: EvaluateOptions): Promise<EvaluationResult> {
  const top = opts.top ?? DEFAULT_TOP;
  if (!Number.isInteger(top) || top < 0) throw new RangeError(`top must be a non-negative integer, got ${top}`);
  // Both inputs are checked before anything is created in the warehouse.
  const truthHeader = await readTruthHeader(opts.truthFile);
  await checkSourceRecords(wh, opts.sourceRecords);

  const d = wh.dialect;
  const truth: Relation = { schema: opts.stateSchema, name: `identity_truth_${randomBytes(6).toString('hex')}` };
  const columns: ColumnSpec[] = TRUTH_COLUMNS.map((name) => ({ name, type: 'text' }));
  await wh.execute(d.createSchema(opts.stateSchema));
  try {
    await wh.execute(d.createTable(truth, columns));
    await wh.bulkLoad(truth, columns, truthRows(opts.truthFile, truthHeader));
    return await measure(wh, opts.sourceRecords, truth, opts, top);
  } finally {
    await wh.execute(d.drop(truth, 'table'));
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** The header's names, trimmed, after checking that the file exists and has the three columns. */
async function readTruthHeader(file: string): Promise<string[]> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new CdpError(`ground-truth file ${file} is not a file`, { location: { file }, hint: `expected ${EXPECTED}` });
  } catch (e) {
    if (e instanceof CdpError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`;
    throw new CdpError(`ground-truth file ${file} ${what}`, { location: { file }, hint: `expected ${EXPECTED}`, cause: e });
  }

  const source = createReadStream(file);
  const parser = parse({ bom: true, to: 1, skip_empty_lines: true, relax_column_count: true, relax_quotes: true });
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  let header: string[] | undefined;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      header = record.map((f) => f.trim());
      break;
    }
  } catch (e) {
    throw new CdpError(`ground-truth file ${file} is not valid CSV: ${(e as Error).message}`, { location: { file }, hint: `expected ${EXPECTED}`, cause: e });
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (!header) throw new CdpError(`ground-truth file ${file} is empty`, { location: { file, line: 1 }, hint: `expected ${EXPECTED}` });

  const missing = TRUTH_COLUMNS.filter((c) => !header!.includes(c));
  if (missing.length > 0) {
    throw new CdpError(`ground-truth file ${file} has no ${missing.join(', ')} column${missing.length === 1 ? '' : 's'}`, {
      location: { file, line: 1 },
      hint: `expected ${EXPECTED}; the header has: ${header.join(', ') || '(nothing)'}`,
    });
  }
  return header;
}

/** The truth's three columns in TRUTH_COLUMNS order; other columns of the file are ignored. */
async function* truthRows(file: string, header: string[]): AsyncGenerator<unknown[][]> {
  // Read as text: record keys such as `007` must keep their exact spelling to match.
  const all: InferredColumn[] = header.map((name) => ({ name, type: 'text' }));
  const positions = TRUTH_COLUMNS.map((c) => header.indexOf(c));
  let row = 0;
  for await (const batch of readCsvBatches(file, all)) {
    const out: unknown[][] = [];
    for (const fields of batch) {
      row++;
      const picked = positions.map((p) => fields[p]);
      const empty = picked.findIndex((v) => v === null);
      if (empty >= 0) {
        throw new CdpError(`ground-truth file ${file}: data row ${row} has an empty ${TRUTH_COLUMNS[empty]}`, {
          location: { file },
          hint: `every row needs a source, a record_key and a person_id`,
        });
      }
      out.push(picked);
    }
    yield out;
  }
}

async function checkSourceRecords(wh: Warehouse, rel: Relation): Promise<void> {
  const names = (await wh.columns(rel)).map((c) => c.name.toLowerCase());
  const where = `${rel.schema}.${rel.name}`;
  if (names.length === 0) {
    throw new CdpError(`resolved records table ${where} does not exist`, {
      hint: 'run the identity stage first, or point sourceRecords at its <entity>_source_records table',
    });
  }
  const missing = ['source', 'record_key', 'profile_id'].filter((c) => !names.includes(c));
  if (missing.length > 0) {
    throw new CdpError(`resolved records table ${where} has no ${missing.join(', ')} column${missing.length === 1 ? '' : 's'}`, {
      hint: 'expected the identity stage output (source, record_key, profile_id)',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Source names

/**
 * Which truth source each resolved source compares against. Only the names differing from
 * the resolved ones are returned; source names are configuration, not per-record data.
 */
export function mapSources(resolved: string[], truth: string[], explicit: Record<string, string> = {}): Map<string, string> {
  const truthSet = new Set(truth);
  const mapping = new Map<string, string>();
  for (const name of resolved) {
    let target: string | undefined;
    if (Object.hasOwn(explicit, name)) target = explicit[name];
    else if (!truthSet.has(name)) {
      const swapped = swapLayerPrefix(name);
      if (swapped !== undefined && truthSet.has(swapped)) target = swapped;
    }
    if (target !== undefined && target !== name) mapping.set(name, target);
  }
  return mapping;
}

function swapLayerPrefix(name: string): string | undefined {
  if (name.startsWith('stg_')) return `raw_${name.slice(4)}`;
  if (name.startsWith('raw_')) return `stg_${name.slice(4)}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Metrics

type Totals = {
  truth_records: unknown;
  resolved_records: unknown;
  matched: unknown;
  true_pairs2: unknown;
  predicted_pairs2: unknown;
  correct_pairs2: unknown;
  truth_clusters: unknown;
  predicted_clusters: unknown;
};

async function measure(wh: Warehouse, sourceRecords: Relation, truth: Relation, opts: EvaluateOptions, top: number): Promise<EvaluationResult> {
  const d = wh.dialect;
  const q = (c: string) => d.quoteIdent(c);
  const text = (c: string) => d.cast(q(c), 'text');
  const bigint = (e: string) => d.cast(e, 'bigint');

  const [resolvedSources, truthSources] = await Promise.all([
    wh.query<{ source: string }>(`SELECT DISTINCT ${text('source')} AS source FROM ${d.relation(sourceRecords)} WHERE ${q('source')} IS NOT NULL`),
    wh.query<{ source: string }>(`SELECT DISTINCT ${q('source')} AS source FROM ${d.relation(truth)}`),
  ]);
  const mapping = mapSources(resolvedSources.map((r) => r.source), truthSources.map((r) => r.source), opts.sourceMap);
  const mappedSource = mapping.size === 0
    ? text('source')
    : `CASE ${text('source')} ${[...mapping].map(([from, to]) => `WHEN ${d.quoteString(from)} THEN ${d.quoteString(to)}`).join(' ')} ELSE ${text('source')} END`;

  // DISTINCT makes a repeated row harmless; a key with two different answers is caught below.
  const inputs =
    `WITH truth AS (SELECT DISTINCT ${q('source')} AS source, ${q('record_key')} AS record_key, ${q('person_id')} AS person_id FROM ${d.relation(truth)}),\n` +
    `resolved AS (SELECT DISTINCT ${mappedSource} AS source, ${text('record_key')} AS record_key, ${text('profile_id')} AS profile_id\n` +
    `  FROM ${d.relation(sourceRecords)} WHERE ${q('source')} IS NOT NULL AND ${q('record_key')} IS NOT NULL AND ${q('profile_id')} IS NOT NULL),\n` +
    `matched AS (SELECT r.profile_id, t.person_id FROM resolved r JOIN truth t ON r.source = t.source AND r.record_key = t.record_key)`;

  await checkUnambiguous(wh, inputs, opts, sourceRecords);

  // n*(n-1) is summed and halved here: DuckDB's `/` is float division, PostgreSQL's truncates.
  const pairs2 = (group: string) => `(SELECT ${bigint('coalesce(sum(n * (n - 1)), 0)')} FROM (SELECT ${bigint('count(*)')} AS n FROM matched GROUP BY ${group}) g)`;
  const [totals] = await wh.query<Totals>(
    `${inputs}\nSELECT\n` +
      `  (SELECT ${bigint('count(*)')} FROM truth) AS truth_records,\n` +
      `  (SELECT ${bigint('count(*)')} FROM resolved) AS resolved_records,\n` +
      `  (SELECT ${bigint('count(*)')} FROM matched) AS matched,\n` +
      `  ${pairs2('person_id')} AS true_pairs2,\n` +
      `  ${pairs2('profile_id')} AS predicted_pairs2,\n` +
      `  ${pairs2('profile_id, person_id')} AS correct_pairs2,\n` +
      `  (SELECT ${bigint('count(DISTINCT person_id)')} FROM matched) AS truth_clusters,\n` +
      `  (SELECT ${bigint('count(DISTINCT profile_id)')} FROM matched) AS predicted_clusters`,
  );

  const worstMerges = top === 0 ? [] : await wh.query<{ profile_id: string; records: unknown; persons: unknown }>(
    `${inputs}\nSELECT profile_id, ${bigint('count(*)')} AS records, ${bigint('count(DISTINCT person_id)')} AS persons\n` +
      `FROM matched GROUP BY profile_id HAVING count(DISTINCT person_id) > 1\n` +
      `ORDER BY persons DESC, records DESC, profile_id LIMIT ${top}`,
  );
  const worstSplits = top === 0 ? [] : await wh.query<{ person_id: string; records: unknown; profiles: unknown }>(
    `${inputs}\nSELECT person_id, ${bigint('count(*)')} AS records, ${bigint('count(DISTINCT profile_id)')} AS profiles\n` +
      `FROM matched GROUP BY person_id HAVING count(DISTINCT profile_id) > 1\n` +
      `ORDER BY profiles DESC, records DESC, person_id LIMIT ${top}`,
  );

  const records = num(totals.matched);
  const truePairs = half(totals.true_pairs2);
  const predictedPairs = half(totals.predicted_pairs2);
  const correctPairs = half(totals.correct_pairs2);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  return {
    records,
    unmatchedTruth: num(totals.truth_records) - records,
    unmatchedResolved: num(totals.resolved_records) - records,
    truePairs,
    predictedPairs,
    correctPairs,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    truthClusters: num(totals.truth_clusters),
    predictedClusters: num(totals.predicted_clusters),
    worstMerges: worstMerges.map((r) => ({ profile_id: String(r.profile_id), records: num(r.records), persons: num(r.persons) })),
    worstSplits: worstSplits.map((r) => ({ person_id: String(r.person_id), records: num(r.records), profiles: num(r.profiles) })),
  };
}

/** A record with two true persons, or resolved to two profiles, would make every count meaningless. */
async function checkUnambiguous(wh: Warehouse, inputs: string, opts: EvaluateOptions, sourceRecords: Relation): Promise<void> {
  const conflicts = (side: string) =>
    `(SELECT source, record_key, ${side === 'truth' ? "'truth'" : "'resolved'"} AS side, count(*) AS answers FROM ${side} GROUP BY source, record_key HAVING count(*) > 1)`;
  const rows = await wh.query<{ source: string; record_key: string; side: string; answers: unknown }>(
    `${inputs}\nSELECT source, record_key, side, answers FROM ${conflicts('truth')} t\n` +
      `UNION ALL SELECT source, record_key, side, answers FROM ${conflicts('resolved')} r\nORDER BY side DESC, source, record_key LIMIT 1`,
  );
  const row = rows[0];
  if (!row) return;
  if (row.side === 'truth') {
    throw new CdpError(`ground-truth file ${opts.truthFile} gives record ${row.source}/${row.record_key} ${num(row.answers)} different person_ids`, {
      location: { file: opts.truthFile },
      hint: 'each (source, record_key) must belong to exactly one person',
    });
  }
  throw new CdpError(`resolved records table ${sourceRecords.schema}.${sourceRecords.name} puts record ${row.source}/${row.record_key} in ${num(row.answers)} profiles`, {
    hint: opts.sourceMap ? 'check that sourceMap does not map two sources onto one' : 'each record must resolve to exactly one profile',
  });
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' || typeof v === 'string') return Number(v);
  if (v === null || v === undefined) return 0;
  throw new Error(`expected a count, got ${typeof v}`);
}

/** Halves an even count exactly, also beyond 2^53 (where adapters return bigint). */
function half(v: unknown): number {
  if (typeof v === 'bigint') return Number(v / 2n);
  if (typeof v === 'string') return Number(BigInt(v) / 2n);
  return num(v) / 2;
}

// ---------------------------------------------------------------------------------------------
// Report

export function formatEvaluation(r: EvaluationResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const int = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `records compared: ${int(r.records)} (${int(r.unmatchedTruth)} truth rows unresolved, ${int(r.unmatchedResolved)} resolved records not in the truth)`,
    `clusters: ${int(r.predictedClusters)} profiles for ${int(r.truthClusters)} true persons`,
    `pairs: ${int(r.correctPairs)} correct of ${int(r.predictedPairs)} predicted, ${int(r.truePairs)} true`,
    `precision ${pct(r.precision)}  recall ${pct(r.recall)}  F1 ${pct(r.f1)}`,
  ];
  if (r.worstMerges.length > 0) {
    lines.push('worst merges (profiles mixing several persons):');
    for (const m of r.worstMerges) lines.push(`  ${m.profile_id}: ${int(m.records)} records, ${int(m.persons)} persons`);
  }
  if (r.worstSplits.length > 0) {
    lines.push('worst splits (persons spread over several profiles):');
    for (const s of r.worstSplits) lines.push(`  ${s.person_id}: ${int(s.records)} records, ${int(s.profiles)} profiles`);
  }
  return lines.join('\n');
}
