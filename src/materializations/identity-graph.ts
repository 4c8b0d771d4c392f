/**
 * `identity_graph`: builds an entity's profiles from its identity spec (docs/identity.md).
 * All outputs are built under staging names and swapped in together in one transaction.
 */
import { CdpError, EXIT_FAILURE } from '../errors.js';
import { buildOutputs, dropStagedOutputs, installOutputs } from '../identity/outputs.js';
import { IdentityPipeline, type PipelineStats, type ResolvedSource } from '../identity/pipeline.js';
import { outputName, type IdentityOutput, type IdentitySpec } from '../identity/spec.js';
import { didYouMean } from '../project/schema.js';
import type { Relation, Warehouse } from '../warehouse/types.js';
import type { Materialization } from './types.js';
import { ensureSchema, stagingRelation } from './swap.js';

export interface IdentityNodeSpec {
  spec: IdentitySpec;
  sources: ResolvedSource[];
  stateSchema: string;
}

/** A source's columns are only known once its model is built, so they are checked here, before any work. */
async function checkColumns(wh: Warehouse, spec: IdentitySpec, sources: ResolvedSource[]): Promise<void> {
  for (const [i, src] of sources.entries()) {
    const cols = (await wh.columns(src.relation)).map((c) => c.name);
    if (cols.length === 0) {
      throw new CdpError(`identity source "${src.name}" does not exist in the warehouse`, { exitCode: EXIT_FAILURE, location: spec.sources[i].location, hint: 'build it first (cdp build builds sources before the identity graph)' });
    }
    const wanted: [string, string][] = [['key', src.key], ...Object.entries(src.ids).map(([t, c]): [string, string] => [`ids.${t}`, c])];
    if (src.updatedAt) wanted.push(['updated_at', src.updatedAt]);
    for (const [key, column] of wanted) {
      if (cols.includes(column)) continue;
      const near = didYouMean(column, cols);
      const loc = spec.sources[i].location;
      throw new CdpError(`identity source "${src.name}" has no column "${column}" (${key})`, {
        exitCode: EXIT_FAILURE,
        location: { file: loc.file, line: loc.line, column: loc.column, key: `sources.${i}.${key}` },
        hint: near ? `did you mean "${near}"?` : `its columns: ${cols.join(', ')}`,
      });
    }
  }
}

export const identityGraph: Materialization = {
  name: 'identity_graph',
  async build(ctx) {
    const { warehouse: wh, node } = ctx;
    const ident = node.identity as IdentityNodeSpec | undefined;
    if (!ident) throw new Error(`${node.id} has no identity spec`);
    const { spec, sources } = ident;
    const schema = ctx.relation.schema;
    await ensureSchema(wh, schema);
    await checkColumns(wh, spec, sources);
    const target = (o: IdentityOutput): Relation => ({ schema, name: outputName(spec.entity, o) });
    const staging = (o: IdentityOutput): Relation => stagingRelation(target(o), 'tmp');
    const stats: PipelineStats = {
      engine: 'local', records: 0, raw_identifiers: 0, normalised_values: 0, empty_values: 0, edges: 0, rejected: {}, component_runs: 0, rounds: 0,
      largest_profile: 0, profiles: 0, unresolved_limit_violations: 0,
    };
    const p = new IdentityPipeline({ wh, spec, sources, schema, stateSchema: ident.stateSchema, fullRefresh: ctx.fullRefresh });
    try {
      const { records, classified } = await p.extract(stats);
      const resolved = await p.resolve(records, classified, stats);
      const out = await buildOutputs(p, { records, classified, ...resolved }, target, staging, ctx.runId);
      for (const row of await wh.query<{ reason: string; n: number }>(`select reason, count(*) as n from ${p.rel(staging('rejected_edges'))} group by reason order by reason`)) {
        stats.rejected[row.reason] = Number(row.n);
      }
      await p.settle();
      await installOutputs(wh, sources, target, staging);
      stats.profiles = out.profiles;
      stats.largest_profile = out.largest;
      const rejected = Object.entries(stats.rejected).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
      return {
        rows: out.profiles,
        message: `${out.profiles} profiles from ${stats.records} records (${stats.normalised_values} identifier values normalised${stats.cached_values ? `, ${stats.cached_values} from the cache` : ''}); ${stats.edges} edges, engine ${stats.engine} (${stats.rounds} round${stats.rounds === 1 ? '' : 's'}), largest ${out.largest} records; rejected: ${rejected}; ${out.merged} merged, ${out.split} split`,
        details: { ...stats, merged: out.merged, split: out.split },
      };
    } catch (err) {
      await dropStagedOutputs(wh, staging);
      throw err;
    } finally {
      await p.dropScratch();
    }
  },
};
