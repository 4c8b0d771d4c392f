import type { Materialization } from './types.js';
import { buildTableAndSwap } from './swap.js';

export const table: Materialization = {
  name: 'table',
  async build(ctx) {
    const rows = await buildTableAndSwap(ctx.warehouse, ctx.relation, ctx.render(false));
    return { rows, message: `table built (${rows} rows)` };
  },
};
