/**
 * Seeds: CSV files loaded through the warehouse's bulk path (appender, COPY, load job),
 * never row by row, into a staging table that is then swapped in atomically.
 */
import { inferCsvSchema, readCsvBatches } from '../seeds/csv.js';
import type { LogicalType } from '../warehouse/types.js';
import type { Materialization } from './types.js';
import { stageAndSwap, stagingRelation } from './swap.js';

export const seed: Materialization = {
  name: 'seed',
  async build(ctx) {
    const { warehouse: wh, relation, node } = ctx;
    const file = node.seedFile!;
    const columns = await inferCsvSchema(file, node.config.column_types as Record<string, LogicalType> | undefined);
    const staging = stagingRelation(relation, 'tmp');
    const rows = await stageAndSwap(wh, relation, staging, async () => {
      await wh.execute(wh.dialect.createTable(staging, columns));
      await wh.bulkLoad(staging, columns, readCsvBatches(file, columns));
    });
    return { rows, message: `seed loaded (${rows} rows)` };
  },
};
