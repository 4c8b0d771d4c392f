/**
 * Incremental models: the first build (or --full-refresh) is a full table build; later
 * builds render with is_incremental() true and fold the new rows in by `merge` on
 * `unique_key` (NULL-safe, duplicates in the batch fail loudly) or by `append`.
 */
import { CdpError, EXIT_FAILURE } from '../errors.js';
import { asList } from '../project/properties.js';
import type { ColumnInfo, Relation, Warehouse } from '../warehouse/types.js';
import type { BuildContext, Materialization } from './types.js';
import { buildTableAndSwap, dropIfExists, existingKind, stagingRelation } from './swap.js';

/** `unique_key` as a list; templates write composite keys as "a,b" since Handlebars has no lists. */
export function uniqueKeyColumns(config: Record<string, unknown>): string[] {
  return asList(config.unique_key).flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean);
}

function strategyOf(config: Record<string, unknown>): 'merge' | 'append' {
  return (config.incremental_strategy as 'merge' | 'append' | undefined) ?? (config.unique_key ? 'merge' : 'append');
}

export const incremental: Materialization = {
  name: 'incremental',
  validate(node) {
    const strategy = strategyOf(node.config);
    if (strategy === 'merge' && uniqueKeyColumns(node.config).length === 0) {
      return ['incremental_strategy "merge" needs unique_key (one column or a list)'];
    }
    return [];
  },
  async build(ctx) {
    const { warehouse: wh, relation } = ctx;
    const kind = await existingKind(wh, relation);
    if (ctx.fullRefresh || kind !== 'table') {
      const rows = await buildTableAndSwap(wh, relation, ctx.render(false));
      return { rows, message: `${ctx.fullRefresh ? 'full refresh' : 'first build'} (${rows} rows)` };
    }
    const staging = stagingRelation(relation, 'incr');
    await dropIfExists(wh, wh.dialect, staging, 'table');
    await wh.execute(wh.dialect.createTableAs(staging, ctx.render(true)));
    try {
      return await foldIn(ctx, staging);
    } finally {
      await dropIfExists(wh, wh.dialect, staging, 'table').catch(() => undefined);
    }
  },
};

async function foldIn(ctx: BuildContext, staging: Relation): Promise<{ rows: number; message: string }> {
  const { warehouse: wh, relation, node } = ctx;
  const d = wh.dialect;
  const strategy = strategyOf(node.config);
  const keys = uniqueKeyColumns(node.config);
  const [{ n: batchRows }] = await wh.query<{ n: number }>(`select count(*) as n from ${d.relation(staging)}`);

  if (strategy === 'merge') await assertUniqueKeys(wh, staging, keys, node.name);
  const columns = await reconcileColumns(wh, relation, staging, String(node.config.on_schema_change ?? 'fail'), node.name);
  const cols = columns.map((c) => d.quoteIdent(c)).join(', ');
  await wh.transaction(async (tx) => {
    if (strategy === 'append') {
      await tx.execute(`insert into ${d.relation(relation)} (${cols}) select ${cols} from ${d.relation(staging)}`);
    } else {
      for (const stmt of d.mergeInto(relation, staging, keys, columns)) await tx.execute(stmt);
    }
  });
  return { rows: batchRows, message: `${strategy} of ${batchRows} new or changed rows` };
}

async function assertUniqueKeys(wh: Warehouse, staging: Relation, keys: string[], model: string): Promise<void> {
  const d = wh.dialect;
  const cols = keys.map((k) => d.quoteIdent(k)).join(', ');
  const dupes = await wh.query(`select ${cols}, count(*) as n from ${d.relation(staging)} group by ${cols} having count(*) > 1 order by n desc limit 5`);
  if (dupes.length) {
    const sample = dupes.map((r) => `(${keys.map((k) => JSON.stringify(r[k])).join(', ')}) x${r.n}`).join(', ');
    throw new CdpError(`the new batch of "${model}" has duplicate unique_key values: ${sample}`, {
      exitCode: EXIT_FAILURE,
      hint: `deduplicate the model's SQL on ${keys.join(', ')} (e.g. with row_number()) so each key appears once per run`,
    });
  }
}

/** Compares the batch's columns with the table's and applies on_schema_change. Returns the columns to write. */
async function reconcileColumns(wh: Warehouse, target: Relation, staging: Relation, policy: string, model: string): Promise<string[]> {
  const [targetCols, stagingCols] = await Promise.all([wh.columns(target), wh.columns(staging)]);
  const existing = new Set(targetCols.map((c) => c.name));
  const incoming = new Set(stagingCols.map((c) => c.name));
  const added: ColumnInfo[] = stagingCols.filter((c) => !existing.has(c.name));
  const removed = targetCols.filter((c) => !incoming.has(c.name)).map((c) => c.name);
  if (added.length === 0 && removed.length === 0) return stagingCols.map((c) => c.name);
  if (policy === 'fail') {
    throw new CdpError(`the columns of "${model}" changed (added: ${added.map((c) => c.name).join(', ') || 'none'}; removed: ${removed.join(', ') || 'none'})`, {
      exitCode: EXIT_FAILURE,
      hint: 'rebuild it with --full-refresh, or set on_schema_change: append_new_columns or ignore',
    });
  }
  if (policy === 'append_new_columns') {
    for (const col of added) {
      await wh.execute(`alter table ${wh.dialect.relation(target)} add column ${wh.dialect.quoteIdent(col.name)} ${col.dataType}`);
    }
    return stagingCols.map((c) => c.name);
  }
  return stagingCols.filter((c) => existing.has(c.name)).map((c) => c.name);
}
