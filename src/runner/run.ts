/**
 * `cdp run | test | seed | build`: compile, select, execute in DAG order, record results.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { compileProject, type CompiledProject } from '../compiler/compile.js';
import type { GraphNode, ResourceType } from '../compiler/graph.js';
import { writeArtifacts } from '../compiler/manifest.js';
import { selectNodes } from '../compiler/selector.js';
import { EXIT_FAILURE, EXIT_OK } from '../errors.js';
import { redact } from '../project/secrets.js';
import { openWarehouse, type TargetConfig } from '../warehouse/registry.js';
import type { Warehouse } from '../warehouse/types.js';
import { executeNode } from './execute.js';
import { describeOutcome, runSyncs, type SyncOutcome } from '../sync/runner.js';
import { loadSyncs } from '../sync/spec.js';
import { Progress } from './progress.js';
import { countByStatus, recordRunHistory, writeRunResults, type RunSummary } from './results.js';
import { runDag } from './scheduler.js';

export type RunCommand = 'run' | 'test' | 'seed' | 'build';

const RESOURCES: Record<RunCommand, ResourceType[]> = {
  run: ['model'],
  test: ['test'],
  seed: ['seed'],
  build: ['seed', 'model', 'test'],
};

export interface RunOptions {
  command: RunCommand;
  projectDir: string;
  target?: string;
  select?: string[];
  exclude?: string[];
  threads?: number;
  fullRefresh?: boolean;
  vars?: Record<string, unknown>;
  json?: boolean;
  /** Human output; defaults to stdout (stderr under --json). */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface RunOutcome {
  summary: RunSummary;
  exitCode: number;
  compiled: CompiledProject;
  /** Syncs scheduled `after: build`, run when the build succeeded. */
  syncs?: SyncOutcome[];
}

export function targetDirOf(compiled: CompiledProject): string {
  return path.join(compiled.project.config.dir, 'target');
}

/** Nodes a command acts on: the selection, limited to its resource types and to buildable nodes. */
export function selectFor(compiled: CompiledProject, resources: ResourceType[], select?: string[], exclude?: string[]): Set<string> {
  const picked = selectNodes(compiled.graph, select, exclude);
  const keep = (n: GraphNode) => resources.includes(n.resourceType) && (n.resourceType !== 'model' || n.relation !== undefined);
  return new Set(compiled.order.filter((id) => picked.has(id) && keep(compiled.graph.get(id))));
}

export async function openTargetWarehouse(compiled: CompiledProject, targetName: string | undefined): Promise<Warehouse> {
  const { resolveTarget } = await import('../project/config.js');
  const target = resolveTarget(compiled.project.config, targetName);
  return openWarehouse(target.settings as TargetConfig);
}

export async function runCommand(opts: RunOptions): Promise<RunOutcome> {
  const out = opts.out ?? (opts.json ? process.stderr : process.stdout);
  const compiled = await compileProject({ projectDir: opts.projectDir, target: opts.target, vars: opts.vars });
  const targetDir = targetDirOf(compiled);
  await writeArtifacts(compiled, targetDir);
  const selected = selectFor(compiled, RESOURCES[opts.command], opts.select, opts.exclude);
  const runId = randomUUID();
  const startedAt = new Date();
  const threads = opts.threads ?? compiled.target.threads;

  if (selected.size === 0) {
    out.write(`nothing to ${opts.command}: the selection matched no ${RESOURCES[opts.command].join('/')} nodes\n`);
    const summary: RunSummary = { runId, command: opts.command, target: compiled.target.name, startedAt, completedAt: new Date(), results: [] };
    writeRunResults(targetDir, summary);
    return { summary, exitCode: EXIT_OK, compiled };
  }

  const warehouse = await openTargetWarehouse(compiled, opts.target);
  try {
    await warehouse.ping();
    if (!opts.json) out.write(`Running ${selected.size} node${selected.size === 1 ? '' : 's'} on ${compiled.target.name} (${compiled.target.type}) with ${threads} thread${threads === 1 ? '' : 's'}\n`);
    const progress = new Progress({ total: selected.size, out: out as NodeJS.WriteStream });
    const gates = extraParents(compiled, selected, opts.command === 'build');
    const results = await runDag(compiled.graph, selected, threads, (node) => executeNode({ compiled, warehouse, runId, fullRefresh: Boolean(opts.fullRefresh), targetDir }, node), progress, gates);
    progress.stop();
    const summary: RunSummary = { runId, command: opts.command, target: compiled.target.name, startedAt, completedAt: new Date(), results };
    try {
      await recordRunHistory(warehouse, compiled.project.config.stateSchema, summary);
    } catch (err) {
      out.write(`warning: could not record run history: ${redact(err instanceof Error ? err.message : String(err))}\n`);
    }
    writeRunResults(targetDir, summary);
    const failed = results.some((r) => r.status === 'error' || r.status === 'fail' || r.status === 'skipped');
    // Audiences are pushed only from a build that fully succeeded: never from half-built data.
    const syncs = opts.command === 'build' && !failed && !opts.select?.length ? await runAfterBuildSyncs(compiled, warehouse, out) : undefined;
    const syncFailed = syncs?.some((s) => s.error) ?? false;
    return { summary, exitCode: failed || syncFailed ? EXIT_FAILURE : EXIT_OK, compiled, syncs };
  } finally {
    await warehouse.close();
  }
}

async function runAfterBuildSyncs(compiled: CompiledProject, wh: Warehouse, out: NodeJS.WritableStream): Promise<SyncOutcome[]> {
  const syncs = (await loadSyncs(compiled)).filter((s) => s.spec.enabled && s.spec.schedule.kind === 'after_build');
  if (!syncs.length) return [];
  out.write(`\nSyncing ${syncs.length} audience${syncs.length === 1 ? '' : 's'} scheduled after build\n`);
  return runSyncs(compiled, wh, syncs, {}, (o) => out.write(`${describeOutcome(o)}\n`));
}

/**
 * Run-time edges beyond the DAG's own: ephemeral models build nothing, so their consumers
 * wait for the ephemerals' own parents; and in `build`, tests gate children (see testGates).
 */
export function extraParents(compiled: CompiledProject, selected: Set<string>, gateOnTests: boolean): Map<string, string[]> {
  const out = gateOnTests ? testGates(compiled, selected) : new Map<string, string[]>();
  const isEphemeral = (id: string) => {
    const n = compiled.graph.get(id);
    return n.resourceType === 'model' && !n.relation;
  };
  const throughEphemerals = (id: string, seen = new Set<string>()): string[] =>
    compiled.graph.get(id).dependsOn.flatMap((p) => {
      if (seen.has(p)) return [];
      seen.add(p);
      return isEphemeral(p) ? throughEphemerals(p, seen) : [p];
    });
  for (const id of selected) {
    if (!compiled.graph.get(id).dependsOn.some(isEphemeral)) continue;
    out.set(id, [...(out.get(id) ?? []), ...throughEphemerals(id)]);
  }
  return out;
}

/**
 * In `build`, a model's tests gate its children: a child waits for the tests of every
 * parent, and an error-severity failure skips it. A test that itself reads the child
 * (a relationships test) cannot gate it.
 */
export function testGates(compiled: CompiledProject, selected: Set<string>): Map<string, string[]> {
  const gates = new Map<string, string[]>();
  for (const id of selected) {
    const test = compiled.graph.get(id);
    if (test.resourceType !== 'test') continue;
    for (const parent of test.dependsOn) {
      for (const child of compiled.graph.children(parent)) {
        const c = compiled.graph.get(child);
        if (c.resourceType === 'test' || !selected.has(child) || test.dependsOn.includes(child)) continue;
        gates.set(child, [...(gates.get(child) ?? []), id]);
      }
    }
  }
  return gates;
}

export function summaryLine(summary: RunSummary): string {
  const c = countByStatus(summary.results);
  const elapsed = ((summary.completedAt.getTime() - summary.startedAt.getTime()) / 1000).toFixed(2);
  const parts = [
    ['success', 'ok'], ['pass', 'passed'], ['warn', 'warned'], ['fail', 'failed tests'], ['error', 'errors'], ['skipped', 'skipped'],
  ].filter(([k]) => c[k]).map(([k, label]) => `${c[k]} ${c[k] === 1 ? label.replace(/s$/, '') : label}`);
  return `Done in ${elapsed}s: ${parts.join(', ') || 'nothing ran'}`;
}
