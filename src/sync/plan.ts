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

export async function buildPlan(wh: Warehouse, sync: ResolvedSync, t: SyncTables, fullResync: boolean): Promise<PlanCounts> {
  const d = wh.dialect;
  const q = (c: string) => d.quoteIdent(c);
  const fieldPairs = Object.entries(sync.spec.fields).sort(([a], [b]) => a.localeCompare(b)).map(([f, col]): [string, string] => [f, q(col)]);
  const fields = fieldPairs.length ? d.jsonObject(fieldPairs) : `'{}'`;
  // A full resync compares against an empty snapshot for adds and changes, but still removes
  // what was delivered before and is gone now.
  // Rows sent by a run that died before the destination's answer was committed may or may
  // not have arrived: they count as delivered with an unknown hash, so they are sent again if
  // still in the source and removed if not (both idempotent).
  const known =
    `(select key, row_hash, fields from ${d.relation(t.snapshot)}\n` +
    ` union all select p.key, '' as row_hash, max(p.fields) as fields from ${d.relation(t.pending)} p\n` +
    ` where not exists (select 1 from ${d.relation(t.snapshot)} s where s.key = p.key) group by p.key)`;
  const snapshotForChanges = fullResync ? `(select * from ${known} as k where 1 = 0)` : known;
  await wh.execute(d.drop(t.plan, 'table'));
  await wh.execute(d.createTableAs(t.plan,
    `with src as (select ${d.cast(q(sync.spec.key), 'text')} as key, ${fields} as fields from ${d.relation(sync.relation)}),\n` +
    `hashed as (select key, fields, ${d.sha256('fields')} as row_hash from src),\n` +
    `diff as (\n` +
    `  select coalesce(h.key, p.key) as key,\n` +
    `    case when h.key is null then 'remove' when p.key is null or p.row_hash = '' then 'add' else 'change' end as change,\n` +
    `    coalesce(h.row_hash, p.row_hash) as row_hash, coalesce(h.fields, p.fields) as fields\n` +
    `  from hashed h full outer join ${snapshotForChanges} p on h.key = p.key\n` +
    `  where p.key is null or h.key is null or h.row_hash <> p.row_hash\n` +
    (fullResync ? `  union all select s.key, 'remove', s.row_hash, s.fields from ${known} s where not exists (select 1 from hashed h where h.key = s.key)\n` : '') +
    `)\n` +
    `select key, change, ${opCase(sync.spec.mode)} as op, row_hash, fields from diff`));
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
