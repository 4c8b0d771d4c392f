/**
 * Sync definitions: `syncs/*.yml`. Everything that can be checked without sending anything
 * is checked before a run starts, with file, line and key.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import type { CompiledProject } from '../compiler/compile.js';
import { destinationFactory } from '../destination/registry.js';
import type { Destination, SyncMode } from '../destination/types.js';
import { CdpError, CdpErrors, type SourceLocation } from '../errors.js';
import { resolveSecretRefs } from '../project/config.js';
import { didYouMean, loadYaml, s } from '../project/schema.js';
import type { Relation } from '../warehouse/types.js';

export const SYNC_MODES: readonly SyncMode[] = ['audience', 'upsert', 'update', 'insert', 'mirror'];

const syncSchema = s.obj(
  {
    name: s.str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'use letters, digits and underscores, starting with a letter' }),
    description: s.str(),
    source: s.obj({ segment: s.str(), model: s.str() }),
    key: s.str(),
    destination: s.str(),
    mode: s.str({ enum: SYNC_MODES }),
    fields: s.map(s.str()),
    schedule: s.oneOf('manual, {cron: "..."} or {after: build}', s.str({ enum: ['manual'] }), s.obj({ cron: s.str(), after: s.str({ enum: ['build'] }), timezone: s.str() })),
    max_attempts: s.int(1),
    enabled: s.bool(),
  },
  ['name', 'source', 'key', 'destination', 'mode'],
);

export type Schedule = { kind: 'manual' } | { kind: 'cron'; cron: string; timezone?: string } | { kind: 'after_build' };

export interface SyncSpec {
  name: string;
  file: string;
  description?: string;
  source: { kind: 'segment' | 'model'; name: string };
  key: string;
  destinationName: string;
  mode: SyncMode;
  /** Destination field -> source column. */
  fields: Record<string, string>;
  schedule: Schedule;
  maxAttempts: number;
  enabled: boolean;
  location: SourceLocation;
}

/** A sync checked against the project, ready to run. */
export interface ResolvedSync {
  spec: SyncSpec;
  relation: Relation;
  destinationType: string;
  /** The `destinations:` entry with `${env:...}` references still in place (safe to show). */
  destinationConfig: Record<string, unknown>;
}

interface RawSync {
  name: string;
  description?: string;
  source: { segment?: string; model?: string };
  key: string;
  destination: string;
  mode: SyncMode;
  fields?: Record<string, string>;
  schedule?: string | { cron?: string; after?: string; timezone?: string };
  max_attempts?: number;
  enabled?: boolean;
}

export function syncFiles(projectDir: string): string[] {
  const dir = path.join(projectDir, 'syncs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
}

/** Parses and checks every sync against the compiled project. Throws all problems at once. */
export async function loadSyncs(compiled: CompiledProject): Promise<ResolvedSync[]> {
  const problems: CdpError[] = [];
  const out: ResolvedSync[] = [];
  const names = new Map<string, string>();
  for (const abs of syncFiles(compiled.project.config.dir)) {
    const file = path.relative(process.cwd(), abs) || abs;
    try {
      const resolved = await checkSync(readFileSync(abs, 'utf8'), file, compiled);
      const prior = names.get(resolved.spec.name);
      if (prior) throw new CdpError(`sync "${resolved.spec.name}" is also defined in ${prior}`, { location: resolved.spec.location, hint: 'sync names must be unique' });
      names.set(resolved.spec.name, file);
      out.push(resolved);
    } catch (err) {
      if (err instanceof CdpErrors) problems.push(...err.errors);
      else if (err instanceof CdpError) problems.push(err);
      else throw err;
    }
  }
  if (problems.length) throw problems.length === 1 ? problems[0] : new CdpErrors(problems);
  return out;
}

async function checkSync(text: string, file: string, compiled: CompiledProject): Promise<ResolvedSync> {
  const { value: raw, validator } = loadYaml<RawSync>(text, file, syncSchema);
  if (validator.errors.length) throw new CdpErrors(validator.errors);
  const problems: CdpError[] = [];
  const fail = (keyPath: (string | number)[], message: string, hint?: string) => problems.push(new CdpError(message, { location: validator.locate(keyPath), hint }));

  // Source: a segment or a model of the project.
  const kind: 'segment' | 'model' = raw.source.segment !== undefined ? 'segment' : 'model';
  const sourceName = raw.source.segment ?? raw.source.model ?? '';
  if ((raw.source.segment === undefined) === (raw.source.model === undefined)) fail(['source'], 'source needs exactly one of segment or model', 'e.g. source: { segment: vip }');
  const nodes = [...compiled.graph.nodes.values()].filter((n) => n.resourceType === 'model' || n.resourceType === 'seed');
  const node = nodes.find((n) => n.name === sourceName && n.relation);
  if (sourceName && !node) {
    const candidates = nodes.filter((n) => kind === 'model' || n.config.materialized === 'segment').map((n) => n.name);
    const near = didYouMean(sourceName, candidates);
    fail(['source', kind], `unknown ${kind} "${sourceName}"`, near ? `did you mean "${near}"?` : `available: ${candidates.slice(0, 10).join(', ')}`);
  } else if (node && kind === 'segment' && node.config.materialized !== 'segment') {
    fail(['source', 'segment'], `"${sourceName}" is not a segment (it is materialized as ${String(node.config.materialized)})`, 'use source: { model: ... } to sync any model');
  }

  // Destination: declared once in cdp.config.yaml.
  const destinations = compiled.project.config.destinations as Record<string, Record<string, unknown>>;
  const destConfig = destinations[raw.destination];
  let destination: Destination | undefined;
  let destinationType = '';
  if (!destConfig) {
    const near = didYouMean(raw.destination, Object.keys(destinations));
    fail(['destination'], `unknown destination "${raw.destination}"`, `${near ? `did you mean "${near}"? ` : ''}declare it under destinations: in cdp.config.yaml`);
  } else {
    destinationType = String(destConfig.type ?? '');
    try {
      const factory = await destinationFactory(destinationType);
      const configProblems = factory.validateConfig(destConfig);
      for (const [key, message] of configProblems) {
        problems.push(new CdpError(`destination "${raw.destination}": ${message}`, { location: compiled.project.config.validator.locate(['destinations', raw.destination, key]) }));
      }
      if (configProblems.length === 0) destination = factory.create(resolveSecretRefs(destConfig, compiled.project.config, ['destinations', raw.destination], { secrets: false }), compiled.project.config.dir);
    } catch (err) {
      if (!(err instanceof CdpError)) throw err;
      problems.push(new CdpError(`destination "${raw.destination}": ${err.message}`, { location: compiled.project.config.validator.locate(['destinations', raw.destination, 'type']), hint: err.hint }));
    }
  }

  const fields = raw.fields ?? {};
  if (destination) {
    const caps = destination.capabilities;
    if (!caps.modes.includes(raw.mode)) fail(['mode'], `destination "${raw.destination}" (${destinationType}) does not support mode "${raw.mode}"`, `supported: ${caps.modes.join(', ')}`);
    if (caps.identifiers.length && !caps.identifiers.some((i) => i.field in fields)) {
      fail(['fields'], `map at least one identifier field for ${destinationType}`, `identifier fields: ${caps.identifiers.map((i) => i.field).join(', ')}`);
    }
    for (const required of caps.requiredFields ?? []) if (!(required in fields)) fail(['fields'], `${destinationType} needs field "${required}"`);
    if (caps.acceptedFields) {
      for (const f of Object.keys(fields)) {
        if (!caps.acceptedFields.includes(f)) {
          const near = didYouMean(f, caps.acceptedFields);
          fail(['fields', f], `${destinationType} has no field "${f}"`, near ? `did you mean "${near}"?` : `fields: ${caps.acceptedFields.join(', ')}`);
        }
      }
    }
    if (raw.mode === 'mirror' && !caps.supportsRemoval) fail(['mode'], `mirror needs removals, which ${destinationType} does not support`);
  }
  if (node?.columns.length) {
    const cols = node.columns.map((c) => c.name);
    for (const [f, col] of [['key', raw.key], ...Object.entries(fields).map(([k, v]) => [`fields.${k}`, v])]) {
      if (!cols.includes(col)) fail(f.split('.'), `"${sourceName}" has no column "${col}"`, didYouMean(col, cols) ? `did you mean "${didYouMean(col, cols)}"?` : `columns: ${cols.join(', ')}`);
    }
  }

  const schedule = parseSchedule(raw.schedule, fail);
  if (problems.length) throw new CdpErrors(problems);
  return {
    spec: {
      name: raw.name, file, description: raw.description, source: { kind, name: sourceName }, key: raw.key, destinationName: raw.destination,
      mode: raw.mode, fields, schedule, maxAttempts: raw.max_attempts ?? 6, enabled: raw.enabled ?? true, location: validator.locate(['name']),
    },
    relation: node!.relation!,
    destinationType,
    destinationConfig: destConfig,
  };
}

function parseSchedule(raw: RawSync['schedule'], fail: (k: (string | number)[], m: string, h?: string) => void): Schedule {
  if (raw === undefined || raw === 'manual') return { kind: 'manual' };
  if (typeof raw === 'string') return { kind: 'manual' };
  if (raw.after === 'build') return { kind: 'after_build' };
  if (raw.cron) {
    try {
      new Cron(raw.cron, { paused: true, timezone: raw.timezone });
    } catch (err) {
      fail(['schedule', 'cron'], `invalid cron expression "${raw.cron}": ${(err as Error).message}`, 'five fields: minute hour day-of-month month day-of-week, e.g. "0 * * * *"');
    }
    return { kind: 'cron', cron: raw.cron, timezone: raw.timezone };
  }
  fail(['schedule'], 'schedule needs cron or after', 'e.g. schedule: { cron: "0 * * * *" } or { after: build }');
  return { kind: 'manual' };
}
