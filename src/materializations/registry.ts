import type { Materialization } from './types.js';
import { ephemeral } from './ephemeral.js';
import { goldenRecord } from './golden-record.js';
import { incremental } from './incremental.js';
import { table } from './table.js';
import { view } from './view.js';

const registry = new Map<string, Materialization>();

export function registerMaterialization(m: Materialization): void {
  registry.set(m.name, m);
}

export function getMaterialization(name: string): Materialization {
  const m = registry.get(name);
  if (!m) throw new Error(`no materialization ${name}`);
  return m;
}

/** Kinds a model may name in `materialized:`; seeds and spec-driven kinds come from their own files. */
export function materializationNames(): string[] {
  return [...registry.keys()].filter((n) => n !== 'seed' && n !== 'identity_graph' && n !== 'golden_record');
}

/**
 * Kinds whose build code pulls in large modules (CSV parsing, identity resolution, segment
 * history) load on their first build, so `cdp compile` does not load them. Only kinds without
 * compile-time hooks (inline, configKeys, validate) can be deferred like this.
 */
function deferred(name: string, load: () => Promise<Materialization>): Materialization {
  return { name, build: async (ctx) => (await load()).build(ctx) };
}

for (const m of [view, table, incremental, ephemeral, goldenRecord]) registerMaterialization(m);
registerMaterialization(deferred('seed', async () => (await import('./seed.js')).seed));
registerMaterialization(deferred('identity_graph', async () => (await import('./identity-graph.js')).identityGraph));
registerMaterialization(deferred('segment', async () => (await import('./segment.js')).segment));
