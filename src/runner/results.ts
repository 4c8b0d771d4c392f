/**
 * Run artifacts: `target/run_results.json` and the warehouse's run-history table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ColumnSpec, Warehouse } from '../warehouse/types.js';
import { ensureSchema, existingKind } from '../materializations/swap.js';
import type { NodeResult } from './scheduler.js';

export const RUN_RESULTS_VERSION = 'cdp/run-results/v1';

export interface RunSummary {
  runId: string;
  command: string;
  target: string;
  startedAt: Date;
  completedAt: Date;
  results: NodeResult[];
}

export function countByStatus(results: NodeResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

export function runResultsJson(summary: RunSummary): object {
  return {
    schema_version: RUN_RESULTS_VERSION,
    run_id: summary.runId,
    command: summary.command,
    target: summary.target,
    started_at: summary.startedAt.toISOString(),
    completed_at: summary.completedAt.toISOString(),
    elapsed_seconds: (summary.completedAt.getTime() - summary.startedAt.getTime()) / 1000,
    counts: countByStatus(summary.results),
    results: summary.results.map((r) => ({
      unique_id: r.id, name: r.name, resource_type: r.resourceType, status: r.status, message: r.message,
      rows_affected: r.rows ?? null, failures: r.failures ?? null, sample: r.sample ?? undefined, details: r.details ?? undefined,
      compiled_path: r.compiledPath ?? null, started_at: r.startedAt.toISOString(), completed_at: r.completedAt.toISOString(),
      execution_seconds: r.seconds,
    })),
  };
}

export function writeRunResults(targetDir: string, summary: RunSummary): string {
  mkdirSync(targetDir, { recursive: true });
  const file = path.join(targetDir, 'run_results.json');
  writeFileSync(file, JSON.stringify(runResultsJson(summary), null, 2) + '\n');
  return file;
}

const HISTORY_COLUMNS: ColumnSpec[] = [
  { name: 'run_id', type: 'text' },
  { name: 'command', type: 'text' },
  { name: 'target', type: 'text' },
  { name: 'node_id', type: 'text' },
  { name: 'resource_type', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'message', type: 'text' },
  { name: 'rows_affected', type: 'bigint' },
  { name: 'failures', type: 'bigint' },
  { name: 'started_at', type: 'timestamp' },
  { name: 'completed_at', type: 'timestamp' },
  { name: 'execution_ms', type: 'bigint' },
];

/** Appends this run's results to `<state_schema>.run_history` through the bulk path. */
export async function recordRunHistory(wh: Warehouse, stateSchema: string, summary: RunSummary): Promise<void> {
  const rel = { schema: stateSchema, name: 'run_history' };
  await ensureSchema(wh, stateSchema);
  if (!(await existingKind(wh, rel))) await wh.execute(wh.dialect.createTable(rel, HISTORY_COLUMNS));
  const rows = summary.results.map((r) => [
    summary.runId, summary.command, summary.target, r.id, r.resourceType, r.status, r.message,
    r.rows ?? null, r.failures ?? null, r.startedAt, r.completedAt, Math.round(r.seconds * 1000),
  ]);
  async function* once() { yield rows; }
  if (rows.length) await wh.bulkLoad(rel, HISTORY_COLUMNS, once());
}
