import type { Materialization } from './types.js';
import { ensureSchema, replaceAtomically } from './swap.js';

export const view: Materialization = {
  name: 'view',
  async build(ctx) {
    const { warehouse: wh, relation } = ctx;
    const sql = ctx.render(false);
    await ensureSchema(wh, relation.schema);
    await replaceAtomically(wh, relation, (tx) => tx.execute(wh.dialect.createView(relation, sql)));
    return { message: 'view created' };
  },
};
