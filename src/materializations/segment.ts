/**
 * `segment`: a membership table (profile_id plus the columns syncs may send), swapped in
 * atomically, with membership history and sizes kept in the state schema (see src/segments/).
 * Used by SQL models with `materialized: segment` and by `*.segment.yml` rule specs alike.
 */
import { buildSegment, checkSourceColumns } from '../segments/build.js';
import { segmentInfo } from '../segments/node.js';
import type { Materialization } from './types.js';

export const segment: Materialization = {
  name: 'segment',
  async build(ctx) {
    const info = segmentInfo(ctx.node);
    let select: string;
    if (info.kind === 'rule') {
      const check = info.runtimeCheck;
      if (check) await checkSourceColumns(ctx.warehouse, check.from, check.fromName, check.columns);
      select = ctx.node.compiledSql!;
    } else {
      select = ctx.render(false);
    }
    const counts = await buildSegment(ctx.warehouse, {
      segment: ctx.node.name, relation: ctx.relation, select, stateSchema: info.stateSchema, runId: ctx.runId,
      describe: info.kind === 'rule' ? `segment ${ctx.node.name}` : `the select of segment ${ctx.node.name}`,
    });
    return {
      rows: counts.members,
      message: `${counts.members} members (+${counts.entered} / -${counts.exited})`,
      details: { ...counts },
    };
  },
};
