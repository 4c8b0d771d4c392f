/**
 * `golden_record`: one row per profile with survivorship per attribute and computed traits,
 * from a `models/**\/<name>.golden.yml` spec (see src/golden/).
 */
import { goldenRecordSql, type GoldenSource } from '../golden/sql.js';
import type { GoldenSpec } from '../golden/spec.js';
import type { Relation } from '../warehouse/types.js';
import type { Materialization } from './types.js';
import { buildTableAndSwap } from './swap.js';

export interface GoldenNodeSpec {
  spec: GoldenSpec;
  sourceRecords: Relation;
  profiles: Relation;
  sources: Record<string, { relation: Relation; key: string; updatedAt?: string }>;
}

export function goldenSelect(g: GoldenNodeSpec, dialect: import('../warehouse/types.js').Dialect): string {
  const sources: Record<string, GoldenSource> = {};
  for (const [name, s] of Object.entries(g.sources)) sources[name] = { name, relation: dialect.relation(s.relation), key: s.key, updatedAt: s.updatedAt };
  return goldenRecordSql(g.spec, { sourceRecords: dialect.relation(g.sourceRecords), profiles: dialect.relation(g.profiles), sources, dialect });
}

export const goldenRecord: Materialization = {
  name: 'golden_record',
  async build(ctx) {
    const g = ctx.node.golden as GoldenNodeSpec;
    const rows = await buildTableAndSwap(ctx.warehouse, ctx.relation, goldenSelect(g, ctx.warehouse.dialect));
    return { rows, message: `golden record built (${rows} profiles)` };
  },
};
