/**
 * The throwaway project the sync benchmark runs in, and the SQL that makes its data. Sources are
 * created directly in DuckDB under the models' relation names rather than by `cdp build`: the
 * benchmark measures the sync engine, not model builds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SCHEMA = 'analytics';
export const MEMBERS = 'members';
export const DIFF_SOURCE = 'diff_members';
export const MEMBERS_SYNC = 'members_to_sink';
export const DIFF_SYNC = 'diff_members_to_sink';
export const BATCH_SIZE = 10_000;
export const CONCURRENCY = 4;

/** Fields every scenario maps: destination field -> source column (the same names here). */
export const FIELDS = { email: 'email', first_name: 'first_name' };

export function writeBenchProject(dir: string, sinkUrl: string, memoryLimit?: string): void {
  const files: Record<string, string> = {
    'cdp.config.yaml':
      'name: bench_sync\ntarget: bench\ntargets:\n  bench:\n    type: duckdb\n    path: bench.duckdb\n' +
      (memoryLimit ? `    memory_limit: ${memoryLimit}\n` : '') +
      `schema: ${SCHEMA}\n` +
      `destinations:\n  sink:\n    type: webhook\n    url: ${sinkUrl}\n    batch_size: ${BATCH_SIZE}\n    concurrency: ${CONCURRENCY}\n`,
    // Placeholders so the syncs resolve; the relations themselves are created by memberSql/diffSql.
    [`models/${MEMBERS}.sql`]: `select 'p0' as profile_id, 'user0@example.com' as email, 'Name0' as first_name\n`,
    [`models/${DIFF_SOURCE}.sql`]: `select 'p0' as profile_id, 'user0@example.com' as email, 'Name0' as first_name\n`,
    [`syncs/${MEMBERS_SYNC}.yml`]: syncYaml(MEMBERS_SYNC, MEMBERS),
    [`syncs/${DIFF_SYNC}.yml`]: syncYaml(DIFF_SYNC, DIFF_SOURCE),
  };
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

function syncYaml(name: string, model: string): string {
  const fields = Object.entries(FIELDS).map(([f, c]) => `${f}: ${c}`).join(', ');
  return `name: ${name}\nsource: { model: ${model} }\nkey: profile_id\ndestination: sink\nmode: audience\nfields: { ${fields} }\n`;
}

/** Row i of a synthetic audience. `i` is kept as a column so changes can pick exact fractions. */
const memberColumns = (i: string) =>
  `'p' || ${i} as profile_id, 'user' || ${i} || '@example.com' as email, 'Name' || (${i} % 1000) as first_name`;

export function createMembersSql(n: number): string[] {
  return [
    `create schema if not exists ${SCHEMA}`,
    `create or replace table ${SCHEMA}.${MEMBERS} as select ${memberColumns('i')}, i from range(${n}) t(i)`,
  ];
}

/** Changes the email of 1 member in 100 (10,000 of 1M); `round` makes each round's values new. */
export function changeMembersSql(round: number): string {
  return `update ${SCHEMA}.${MEMBERS} set email = 'r${round}.' || email where i % 100 = ${round % 100}`;
}

/**
 * The 10M-row diff: the snapshot holds what was delivered for rows 0..n-1; the source has 1% of
 * them with a new email, 0.5% removed and 0.5% (n/200) new rows, so the plan is 2% of n.
 */
export const diffShape = (n: number) => ({ change: n / 100, remove: n / 200, add: n / 200 });

export function createDiffSourceSql(n: number): string[] {
  return [
    `create schema if not exists ${SCHEMA}`,
    `create or replace table ${SCHEMA}.${DIFF_SOURCE} as ` +
      `select profile_id, case when i % 100 = 3 then 'changed.' || email else email end as email, first_name ` +
      `from (select ${memberColumns('i')}, i from range(${n}) t(i)) where i % 200 <> 5 ` +
      `union all select 'n' || i, 'new' || i || '@example.com', 'New' || (i % 1000) from range(${n / 200}) t(i)`,
  ];
}

/** The rows the previous run delivered, with the fields JSON the engine would have stored. */
export function previousRowsSql(n: number, fieldsJson: string): string {
  return `select profile_id as key, email, first_name, ${fieldsJson} as fields from (select ${memberColumns('i')} from range(${n}) t(i))`;
}

/** The plan variants bench/sync/diff.ts times (it runs in a child; the parent needs only these names). */
export const VARIANTS = {
  engine: 'buildPlan() as shipped: 64-bit rowHash of the mapped columns, the join carries (key, hash) only, JSON for the changed rows only',
  sha256: 'the plan SQL before 64-bit hashes: sha256 of the fields JSON, fields carried through the join',
  md5: 'replica with md5 instead of sha256',
  hash64: "replica with CAST(hash(fields) AS VARCHAR), DuckDB's 64-bit hash of the same JSON",
  lean: 'hash(columns) as text; the join carries only (key, row_hash); JSON built for the diff rows only',
  lean64: 'as lean, with the hash kept as a UBIGINT column (no cast to text on either side)',
  costs: 'ingredients alone over the source: JSON, each hash, the bare join',
} as const;
export type Variant = keyof typeof VARIANTS;
