import type { Materialization } from './types.js';
import { ephemeral } from './ephemeral.js';
import { goldenRecord } from './golden-record.js';
import { identityGraph } from './identity-graph.js';
import { incremental } from './incremental.js';
import { seed } from './seed.js';
import { segment } from './segment.js';
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

for (const m of [view, table, incremental, ephemeral, seed, identityGraph, goldenRecord, segment]) registerMaterialization(m);
