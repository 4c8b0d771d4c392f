/**
 * The worst case for label propagation: one path 1-2-3-...-n. Min-label hooking alone needs
 * n rounds on it; with pointer jumping the sql engine should need O(log n).
 */
import { performance } from 'node:perf_hooks';
import { localEngine, sqlEngine, type ComponentEngine } from '../../src/identity/components.js';
import type { Warehouse } from '../../src/warehouse/types.js';

export interface ChainResult {
  engine: string;
  length: number;
  rounds: number;
  seconds: number;
  /** Every node labelled 1 (the smallest), and every node present. */
  correct: boolean;
}

export async function runChain(wh: Warehouse, length: number, engines: ('local' | 'sql')[], maxRounds: number): Promise<ChainResult[]> {
  const d = wh.dialect;
  const schema = 'chain';
  await wh.execute(d.createSchema(schema));
  const edges = { schema, name: 'chain_edges' };
  await wh.execute(d.drop(edges, 'table'));
  await wh.execute(d.createTableAs(edges, `select cast(i as bigint) as a, cast(i + 1 as bigint) as b from range(1, ${length}) as t(i)`));
  const results: ChainResult[] = [];
  for (const name of engines) {
    const engine: ComponentEngine = name === 'local' ? localEngine : sqlEngine(maxRounds);
    const out = { schema, name: `chain_labels_${name}` };
    const start = performance.now();
    const stats = await engine.run(wh, edges, out);
    const secs = (performance.now() - start) / 1000;
    const [check] = await wh.query<{ n: number; wrong: number }>(`select count(*) as n, count(*) filter (where comp <> 1) as wrong from ${d.relation(out)}`);
    results.push({ engine: name, length, rounds: stats.rounds, seconds: secs, correct: Number(check.n) === length && Number(check.wrong) === 0 });
  }
  return results;
}
