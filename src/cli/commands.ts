/**
 * One function per CLI command. Each returns the process exit code.
 */
import path from 'node:path';
import { compileProject } from '../compiler/compile.js';
import { writeArtifacts } from '../compiler/manifest.js';
import { selectNodes } from '../compiler/selector.js';
import { CdpError, EXIT_OK } from '../errors.js';
import { loadConfig, resolveTarget } from '../project/config.js';
import { referencedEnvVars } from '../project/secrets.js';
import type { RunCommand } from '../runner/run.js';
import type { NodeResult } from '../runner/scheduler.js';
import { openWarehouse, type TargetConfig } from '../warehouse/registry.js';
import type { GlobalOptions } from './program.js';
import { scaffoldProject } from './scaffold.js';
import { formatTable } from './table.js';

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

export async function commandCompile(o: GlobalOptions): Promise<number> {
  const started = performance.now();
  const compiled = await compileProject({ projectDir: o.projectDir, target: o.target, vars: o.vars });
  // The runner (and what it imports) is not loaded for a compile; see runner/run.ts targetDirOf.
  const manifestPath = await writeArtifacts(compiled, path.join(compiled.project.config.dir, 'target'));
  const counts: Record<string, number> = {};
  for (const n of compiled.graph.nodes.values()) counts[n.resourceType] = (counts[n.resourceType] ?? 0) + 1;
  const seconds = (performance.now() - started) / 1000;
  if (o.json) {
    print(JSON.stringify({ manifest: manifestPath, counts, seconds }));
  } else {
    const parts = ['model', 'test', 'seed', 'source'].map((k) => `${counts[k] ?? 0} ${k}${(counts[k] ?? 0) === 1 ? '' : 's'}`);
    print(`Compiled ${parts.join(', ')} in ${seconds.toFixed(2)}s -> ${path.relative(process.cwd(), manifestPath) || manifestPath}`);
  }
  return EXIT_OK;
}

/** `cdp run --dry-run`: the bytes each selected model would process, from warehouse dry runs. */
export async function commandDryRun(o: GlobalOptions): Promise<number> {
  const { openTargetWarehouse, selectFor } = await import('../runner/run.js');
  const compiled = await compileProject({ projectDir: o.projectDir, target: o.target, vars: o.vars });
  const models = [...selectFor(compiled, ['model'], o.select, o.exclude)].map((id) => compiled.graph.get(id)).filter((n) => n.compiledSql !== undefined);
  const wh = await openTargetWarehouse(compiled, o.target);
  try {
    if (!wh.estimateBytes) {
      throw new CdpError(`--dry-run estimates the bytes each model would scan, which ${compiled.target.type} targets cannot report`, { hint: 'it works on BigQuery targets; use `cdp compile` to see the SQL' });
    }
    const rows: { model: string; bytes: number }[] = [];
    for (const node of models) rows.push({ model: node.name, bytes: await wh.estimateBytes(node.compiledSql!) });
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    if (o.json) print(JSON.stringify({ models: rows, total_bytes: total }));
    else print(`${formatTable(rows.map((r) => ({ model: r.model, bytes: r.bytes, size: humanBytes(r.bytes) })))}\ntotal: ${humanBytes(total)} for ${rows.length} model${rows.length === 1 ? '' : 's'}`);
    return EXIT_OK;
  } finally {
    await wh.close();
  }
}

function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export async function commandRun(o: GlobalOptions, command: RunCommand): Promise<number> {
  const { runCommand, summaryLine } = await import('../runner/run.js');
  const { runResultsJson } = await import('../runner/results.js');
  const outcome = await runCommand({ command, ...o });
  const { summary } = outcome;
  if (o.json) {
    print(JSON.stringify(runResultsJson(summary)));
    return outcome.exitCode;
  }
  const problems = summary.results.filter((r) => r.status === 'error' || r.status === 'fail' || r.status === 'warn');
  if (problems.length) print('');
  for (const r of problems) print(describeProblem(r));
  print(summaryLine(summary));
  return outcome.exitCode;
}

function describeProblem(r: NodeResult): string {
  const head = `${r.status.toUpperCase()} ${r.resourceType} ${r.name}: ${r.message}`;
  if (!r.sample?.length) return head;
  return `${head}${r.compiledPath ? `\n  query: ${r.compiledPath}` : ''}\n${formatTable(r.sample, '  ')}`;
}

export async function commandLs(o: GlobalOptions, resourceType?: string): Promise<number> {
  const compiled = await compileProject({ projectDir: o.projectDir, target: o.target, vars: o.vars });
  const picked = selectNodes(compiled.graph, o.select, o.exclude);
  const nodes = compiled.order.map((id) => compiled.graph.get(id)).filter((n) => picked.has(n.id) && (!resourceType || n.resourceType === resourceType));
  if (o.json) {
    print(JSON.stringify(nodes.map((n) => ({ unique_id: n.id, name: n.name, resource_type: n.resourceType, path: n.path, materialized: n.config.materialized ?? null, tags: n.tags, depends_on: n.dependsOn }))));
  } else {
    for (const n of nodes) print(n.id);
  }
  return EXIT_OK;
}

export async function commandDebug(o: GlobalOptions): Promise<number> {
  const config = loadConfig(o.projectDir);
  const target = resolveTarget(config, o.target, { secrets: false });
  const envVars = Object.values(target.display).filter((v): v is string => typeof v === 'string').flatMap(referencedEnvVars);
  const info = {
    project: config.name,
    project_dir: config.dir,
    config_file: config.file,
    target: target.name,
    target_settings: target.display,
    schema: target.schema,
    state_schema: config.stateSchema,
    threads: target.threads,
    secrets: Object.fromEntries(envVars.map((v) => [v, process.env[v] === undefined ? 'not set' : 'set'])),
  };
  const resolved = resolveTarget(config, o.target);
  const wh = await openWarehouse(resolved.settings as TargetConfig);
  let version: string;
  try {
    version = await wh.ping();
  } finally {
    await wh.close();
  }
  if (o.json) {
    print(JSON.stringify({ ...info, connection: { ok: true, version } }));
  } else {
    print(`project:      ${info.project} (${info.project_dir})`);
    print(`target:       ${info.target} (${target.type}), schema ${info.schema}, state schema ${info.state_schema}, ${info.threads} threads`);
    print(`settings:     ${JSON.stringify(info.target_settings)}`);
    for (const [name, state] of Object.entries(info.secrets)) print(`secret:       \${env:${name}} is ${state}`);
    print(`connection:   ok (${version})`);
  }
  return EXIT_OK;
}

export async function commandInit(o: GlobalOptions, dir: string): Promise<number> {
  const created = scaffoldProject(path.resolve(o.projectDir, dir));
  if (o.json) print(JSON.stringify({ created }));
  else {
    print(`Created a new project in ${created.dir}:`);
    for (const f of created.files) print(`  ${f}`);
    print(`\nNext: cd ${path.relative(process.cwd(), created.dir) || '.'} && npx cdp build`);
  }
  return EXIT_OK;
}

export async function commandGenerate(o: GlobalOptions, opts: { people: number; seed: number; out?: string }): Promise<number> {
  const { generateDemoData } = await import('../demo/generator.js');
  const { CdpError } = await import('../errors.js');
  if (!Number.isInteger(opts.people) || opts.people < 1) throw new CdpError('--people must be a whole number of at least 1');
  const outDir = path.resolve(opts.out ?? path.join(o.projectDir, 'seeds'));
  const truthFile = path.resolve(o.projectDir, 'data', 'ground_truth.csv');
  const summary = await generateDemoData({ people: opts.people, seed: opts.seed, outDir, truthFile });
  if (o.json) print(JSON.stringify(summary));
  else {
    print(`Generated demo data for ${summary.people} people:`);
    for (const f of summary.files) print(`  ${path.relative(process.cwd(), f.path)}  ${f.rows} rows`);
    print(`  ${path.relative(process.cwd(), summary.truthFile)}  ${summary.truthRows} rows (ground truth)`);
  }
  return EXIT_OK;
}
