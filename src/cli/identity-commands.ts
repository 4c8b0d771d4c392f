/**
 * `cdp identity explain | stats | evaluate`.
 */
import path from 'node:path';
import { compileProject, type CompiledProject } from '../compiler/compile.js';
import { CdpError, EXIT_OK } from '../errors.js';
import { evaluateIdentity, formatEvaluation } from '../identity/evaluate.js';
import { explainIdentifier, identityStats, type Explanation, type IdentityStats } from '../identity/explain.js';
import { outputName } from '../identity/spec.js';
import type { IdentityNodeSpec } from '../materializations/identity-graph.js';
import { didYouMean } from '../project/schema.js';
import { openTargetWarehouse } from '../runner/run.js';
import type { Warehouse } from '../warehouse/types.js';
import type { GlobalOptions } from './program.js';
import { formatTable, formatValue } from './table.js';

const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

interface Picked {
  compiled: CompiledProject;
  ident: IdentityNodeSpec;
  schema: string;
}

async function pickEntity(o: GlobalOptions, entity?: string): Promise<Picked> {
  const compiled = await compileProject({ projectDir: o.projectDir, target: o.target, vars: o.vars });
  const nodes = [...compiled.graph.nodes.values()].filter((n) => n.identity);
  const entities = nodes.map((n) => (n.identity as IdentityNodeSpec).spec.entity);
  if (nodes.length === 0) throw new CdpError('this project has no identity spec', { hint: 'add models/identity/<entity>.identity.yml (see docs/identity.md)' });
  const node = entity ? nodes.find((n) => (n.identity as IdentityNodeSpec).spec.entity === entity) : nodes.length === 1 ? nodes[0] : undefined;
  if (!node) {
    const near = entity ? didYouMean(entity, entities) : undefined;
    throw new CdpError(entity ? `unknown entity "${entity}"` : 'several entities: say which with --entity', { hint: `${near ? `did you mean "${near}"? ` : ''}entities: ${entities.join(', ')}` });
  }
  return { compiled, ident: node.identity as IdentityNodeSpec, schema: node.relation!.schema };
}

async function withTarget<T>(p: Picked, o: GlobalOptions, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await openTargetWarehouse(p.compiled, o.target);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

export async function commandIdentityExplain(o: GlobalOptions, value: string, entity?: string): Promise<number> {
  const p = await pickEntity(o, entity);
  const result = await withTarget(p, o, (wh) => explainIdentifier(wh, p.ident.spec, p.schema, value));
  print(o.json ? JSON.stringify(result) : renderExplanation(result));
  return EXIT_OK;
}

function renderExplanation(e: Explanation): string {
  const q = `${e.query.id_type}:${e.query.id_value}`;
  const lines: string[] = [];
  if (!e.profile_id) {
    lines.push(`${q} is in no profile.`);
  } else {
    lines.push(`${q} belongs to profile ${e.profile_id}`, '', 'identifiers:');
    lines.push(formatTable(e.identifiers.map((i) => ({ type: i.id_type, value: i.id_value, records: i.record_count, first_seen: formatValue(i.first_seen), last_seen: formatValue(i.last_seen) })), '  ', 60));
    lines.push('', 'records by source:', ...e.sources.map((s) => `  ${s.source}: ${s.records}`));
    if (e.paths.length) {
      lines.push('', `how each identifier joined ${q}:`);
      for (const path of e.paths) {
        const hops = path.hops.map((h) => `--[${h.source} ${h.record_key}]--> ${h.to.id_type}:${h.to.id_value}`).join(' ');
        lines.push(`  ${q} ${hops}`);
      }
    }
  }
  if (e.rejected.length) {
    lines.push('', 'turned away:');
    for (const r of e.rejected) lines.push(`  ${r.source} ${r.record_key}: ${r.reason}`);
  }
  return lines.join('\n');
}

export async function commandIdentityStats(o: GlobalOptions, entity?: string): Promise<number> {
  const p = await pickEntity(o, entity);
  const stats = await withTarget(p, o, (wh) => identityStats(wh, p.ident.spec, p.schema));
  print(o.json ? JSON.stringify(stats) : renderStats(stats));
  return EXIT_OK;
}

function renderStats(s: IdentityStats): string {
  const lines = [`${s.entity}: ${s.profiles} profiles from ${s.records} records`, '', 'profile sizes (records per profile):'];
  const widest = Math.max(1, ...s.size_distribution.map((d) => d.profiles));
  for (const d of s.size_distribution) lines.push(`  ${d.bucket.padStart(8)}  ${String(d.profiles).padStart(8)}  ${'#'.repeat(Math.max(1, Math.round((d.profiles / widest) * 40)))}`);
  lines.push('', 'largest profiles:', formatTable(s.largest, '  '));
  lines.push('', 'rejected edges:', s.rejected.length ? formatTable(s.rejected, '  ') : '  none');
  lines.push('', 'merges and splits:', s.merges.length ? formatTable(s.merges, '  ') : '  none');
  return lines.join('\n');
}

export async function commandIdentityEvaluate(o: GlobalOptions, truth: string, entity?: string): Promise<number> {
  const p = await pickEntity(o, entity);
  const truthFile = path.resolve(truth);
  const result = await withTarget(p, o, (wh) =>
    evaluateIdentity(wh, {
      sourceRecords: { schema: p.schema, name: outputName(p.ident.spec.entity, 'source_records') },
      truthFile,
      stateSchema: p.compiled.project.config.stateSchema,
    }));
  print(o.json ? JSON.stringify(result) : formatEvaluation(result));
  return EXIT_OK;
}
