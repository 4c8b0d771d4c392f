/**
 * The plan: what changed since the destination last confirmed, computed in the warehouse by a
 * full outer join of the source (key, hash of the mapped fields) with the sync's snapshot.
 */
import { CdpError, EXIT_FAILURE } from '../errors.js';
import type { SyncMode } from '../destination/types.js';
import type { Warehouse } from '../warehouse/types.js';
import type { ResolvedSync } from './spec.js';
import type { SyncTables } from './state.js';

export interface PlanCounts {
  add: number;
  change: number;
  remove: number;
  /** Planned changes that need no request (e.g. a removal in upsert mode): committed directly. */
  skip: number;
  total: number;
}

/** Destination operation per change kind and mode; `skip` means only the snapshot changes. */
export function opCase(mode: SyncMode): string {
  const ops: Record<SyncMode, Record<'add' | 'change' | 'remove', string>> = {
    audience: { add: 'add', change: 'add', remove: 'remove' },
    upsert: { add: 'upsert', change: 'upsert', remove: 'skip' },
    update: { add: 'upsert', change: 'upsert', remove: 'skip' },
    insert: { add: 'upsert', change: 'skip', remove: 'skip' },
    mirror: { add: 'upsert', change: 'upsert', remove: 'delete' },
  };
  const m = ops[mode];
  return `case change when 'add' then '${m.add}' when 'change' then '${m.change}' else '${m.remove}' end`;
}

/** Fails before anything is sent when the source's keys are not unique and non-NULL. */
export async function assertSourceKeys(wh: Warehouse, sync: ResolvedSync): Promise<void> {
  const d = wh.dialect;
  const key = d.quoteIdent(sync.spec.key);
  // NULLS is reserved in BigQuery, hence the longer aliases.
  const [r] = await wh.query<{ null_keys: number; dupe_keys: number }>(
    `select count(*) - count(${key}) as null_keys, count(${key}) - count(distinct ${key}) as dupe_keys from ${d.relation(sync.relation)}`);
  if (Number(r.null_keys) > 0 || Number(r.dupe_keys) > 0) {
    const sample = Number(r.dupe_keys) > 0
      ? (await wh.query<{ k: unknown }>(`select ${key} as k from ${d.relation(sync.relation)} where ${key} is not null group by ${key} having count(*) > 1 limit 3`)).map((x) => String(x.k)).join(', ')
      : '';
    throw new CdpError(`sync "${sync.spec.name}": source ${sync.spec.source.name} has ${r.null_keys} NULL and ${r.dupe_keys} duplicate values of key ${sync.spec.key}${sample ? ` (e.g. ${sample})` : ''}; nothing was sent`, {
      exitCode: EXIT_FAILURE, location: sync.spec.location, hint: 'the key must identify one row of the source',
    });
  }
}

/**
 * Writes the plan table: `seq` (numbers the rows for the commits), key, change, op, row_hash
 * and the fields to send. The join that finds the changes carries only (key, 64-bit hash), and
 * the fields JSON is built afterwards for the changed rows alone: over a large segment with few
 * changes, hashing and joining are most of the cost.
 */
export async function buildPlan(wh: Warehouse, sync: ResolvedSync, t: SyncTables, fullResync: boolean): Promise<PlanCounts> {
  const d = wh.dialect;
  const q = (c: string) => d.quoteIdent(c);
  const fieldPairs = Object.entries(sync.spec.fields).sort(([a], [b]) => a.localeCompare(b)).map(([f, col]): [string, string] => [f, `r.${q(col)}`]);
  const fields = fieldPairs.length ? d.jsonObject(fieldPairs) : `'{}'`;
  // The key is part of the hash so that a sync without fields still hashes to something.
  const rowHash = d.rowHash(fieldPairs.length ? fieldPairs.map(([, c]) => c) : [`r.${q(sync.spec.key)}`]);
  const key = d.cast(`r.${q(sync.spec.key)}`, 'text');
  const source = `${d.relation(sync.relation)} r`;
  const snapshot = d.relation(t.snapshot);
  // Rows sent by a run that died before the destination's answer was committed may or may
  // not have arrived: they count as delivered with an unknown hash, so they are sent again if
  // still in the source and removed if not (both idempotent).
  const pendingOnly =
    `select p.key, max(p.fields) as fields from ${d.relation(t.pending)} p\n` +
    `  where not exists (select 1 from ${snapshot} s where s.key = p.key) group by p.key`;
  // A key with a snapshot row and a pending mark may have been changed or removed at the
  // destination by the run that died: its hash is unknown too, so it is sent again.
  const known =
    `select s.key, case when exists (select 1 from ${d.relation(t.pending)} p where p.key = s.key) then null else s.row_hash end as row_hash, 0 as from_pending from ${snapshot} s\n` +
    `  union all select key, cast(null as ${d.typeName('bigint')}), 1 from pending_only`;
  // A full resync compares against an empty snapshot for adds and changes, but still removes
  // what was delivered before and is gone now.
  const joined = fullResync ? `(select * from known where 1 = 0)` : 'known';
  await wh.execute(d.drop(t.plan, 'table'));
  await wh.execute(d.createTableAs(t.plan,
    `with pending_only as (${pendingOnly}),\n` +
    `known as (${known}),\n` +
    `hashed as (select ${key} as key, ${rowHash} as row_hash from ${source}),\n` +
    `diff as (\n` +
    `  select coalesce(h.key, k.key) as key,\n` +
    `    case when h.key is null then 'remove' when k.key is null or k.from_pending = 1 then 'add' else 'change' end as change,\n` +
    `    h.row_hash\n` +
    `  from hashed h full outer join ${joined} k on h.key = k.key\n` +
    `  where k.key is null or h.key is null or k.row_hash is null or h.row_hash <> k.row_hash\n` +
    (fullResync ? `  union all select k.key, 'remove', cast(null as ${d.typeName('bigint')}) from known k where not exists (select 1 from hashed h where h.key = k.key)\n` : '') +
    `),\n` +
    // The small diff is the build side of these joins, so neither the source nor the
    // snapshot's fields are held in memory, and JSON is built for the changed rows only.
    `with_fields as (\n` +
    `  select ${key} as key, ${fields} as fields from ${source} where ${key} in (select key from diff where change <> 'remove')\n` +
    `  union all select key, fields from ${snapshot} where key in (select key from diff where change = 'remove')\n` +
    `  union all select key, fields from pending_only where key in (select key from diff where change = 'remove')\n` +
    `)\n` +
    `select row_number() over () as seq, x.key, x.change, ${opCase(sync.spec.mode)} as op, x.row_hash, f.fields\n` +
    `from diff x join with_fields f on f.key = x.key`));
  const rows = await wh.query<{ change: string; op: string; n: number }>(`select change, op, count(*) as n from ${d.relation(t.plan)} group by change, op`);
  const counts: PlanCounts = { add: 0, change: 0, remove: 0, skip: 0, total: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    counts.total += n;
    if (r.op === 'skip') counts.skip += n;
    else counts[r.change as 'add' | 'change' | 'remove'] += n;
  }
  return counts;
}
