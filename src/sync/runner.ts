/**
 * Runs syncs for the CLI, `cdp build` (syncs scheduled after build) and `cdp serve`.
 */
import type { CompiledProject } from '../compiler/compile.js';
import { destinationFactory } from '../destination/registry.js';
import type { Destination } from '../destination/types.js';
import { CdpError, formatError } from '../errors.js';
import { redact } from '../project/secrets.js';
import { resolveSecretRefs } from '../project/config.js';
import { didYouMean } from '../project/schema.js';
import type { Warehouse } from '../warehouse/types.js';
import { runSync, type SyncRunOptions, type SyncRunResult } from './engine.js';
import type { ResolvedSync } from './spec.js';
import { ensureSyncTables, syncTables } from './state.js';

export async function createDestination(compiled: CompiledProject, sync: ResolvedSync): Promise<Destination> {
  const config = resolveSecretRefs(sync.destinationConfig, compiled.project.config, ['destinations', sync.spec.destinationName]);
  return (await destinationFactory(sync.destinationType)).create(config, compiled.project.config.dir);
}

export function pickSyncs(all: ResolvedSync[], names: string[]): ResolvedSync[] {
  return names.map((name) => {
    const found = all.find((s) => s.spec.name === name);
    if (!found) {
      const near = didYouMean(name, all.map((s) => s.spec.name));
      throw new CdpError(`unknown sync "${name}"`, { hint: `${near ? `did you mean "${near}"? ` : ''}syncs: ${all.map((s) => s.spec.name).join(', ') || 'none (add syncs/*.yml)'}` });
    }
    return found;
  });
}

export interface SyncOutcome {
  sync: string;
  result?: SyncRunResult;
  error?: CdpError | Error;
}

/** Runs syncs one after another; a failing sync does not stop the others. */
export async function runSyncs(compiled: CompiledProject, wh: Warehouse, syncs: ResolvedSync[], opts: SyncRunOptions, onDone?: (o: SyncOutcome) => void): Promise<SyncOutcome[]> {
  const outcomes: SyncOutcome[] = [];
  for (const sync of syncs) {
    if (opts.stop?.aborted) break;
    let outcome: SyncOutcome;
    try {
      const destination = await createDestination(compiled, sync);
      outcome = { sync: sync.spec.name, result: await runSync(wh, sync, destination, compiled.project.config.stateSchema, opts) };
    } catch (err) {
      const partial = (err as { result?: SyncRunResult }).result;
      outcome = { sync: sync.spec.name, result: partial, error: err instanceof Error ? err : new Error(String(err)) };
    }
    outcomes.push(outcome);
    onDone?.(outcome);
  }
  return outcomes;
}

export interface SyncStatus {
  sync: string;
  runs: Record<string, unknown>[];
  open_rejections: number;
  rejections: Record<string, unknown>[];
}

export async function syncStatus(wh: Warehouse, stateSchema: string, syncs: ResolvedSync[], limit = 5): Promise<SyncStatus[]> {
  const out: SyncStatus[] = [];
  for (const sync of syncs) {
    const t = syncTables(stateSchema, sync.spec.name);
    await ensureSyncTables(wh, t);
    const d = wh.dialect;
    const runs = await wh.query(
      `select run_id, status, started_at, finished_at, planned, added, changed, removed, rejected, retried, requests, message from ${d.relation(t.runs)} where sync = $1 order by started_at desc limit ${limit}`,
      [sync.spec.name],
    );
    const [{ n }] = await wh.query<{ n: number }>(`select count(*) as n from ${d.relation(t.rejections)} where sync = $1`, [sync.spec.name]);
    const rejections = await wh.query(`select key, op, reason, attempts, first_seen, last_seen from ${d.relation(t.rejections)} where sync = $1 order by last_seen desc, key limit 10`, [sync.spec.name]);
    out.push({ sync: sync.spec.name, runs, open_rejections: Number(n), rejections });
  }
  return out;
}

/** One line per sync for people: what happened and, on failure, why. */
export function describeOutcome(o: SyncOutcome): string {
  const r = o.result;
  if (o.error && !r) return `FAIL  ${o.sync}: ${o.error instanceof CdpError ? formatError(o.error).replace(/^error: /, '') : redact(o.error.message)}`;
  const label = o.error ? 'FAIL ' : r!.status === 'dry_run' ? 'PLAN ' : r!.status === 'partial' ? 'WARN ' : r!.status === 'interrupted' ? 'STOP ' : 'OK   ';
  return `${label} ${o.sync}: ${o.error ? redact(o.error.message) : r!.message}`;
}
