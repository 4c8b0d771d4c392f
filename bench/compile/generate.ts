/**
 * Generates a synthetic project of N models for the compile benchmark: each model refs one
 * or two earlier models, materializations are mixed, and every model has YAML tests.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const KINDS = ['view', 'table', 'incremental', 'view', 'table'];
const PER_FOLDER = 100;

export function generateBenchProject(dir: string, models: number): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'cdp.config.yaml'), `name: bench\nschema: bench\nvars:\n  lookback_days: 3\n`);
  // A deterministic LCG keeps the project identical between runs.
  let state = 12345;
  const rand = (n: number) => ((state = (state * 1103515245 + 12345) % 2147483648), state % n);
  for (let folder = 0; folder * PER_FOLDER < models; folder++) {
    const folderDir = path.join(dir, 'models', `group_${String(folder).padStart(3, '0')}`);
    mkdirSync(folderDir, { recursive: true });
    const yaml: string[] = ['models:'];
    for (let j = 0; j < PER_FOLDER && folder * PER_FOLDER + j < models; j++) {
      const i = folder * PER_FOLDER + j;
      const name = `model_${String(i).padStart(5, '0')}`;
      const kind = i === 0 ? 'table' : KINDS[i % KINDS.length];
      let sql: string;
      if (i === 0) {
        sql = `{{config materialized="table"}}\nselect 1 as id, 'seed' as label, current_date as updated_at\n`;
      } else {
        const a = `model_${String(rand(i)).padStart(5, '0')}`;
        const b = i > 1 && rand(2) === 0 ? `model_${String(rand(i)).padStart(5, '0')}` : undefined;
        const config = kind === 'incremental' ? `{{config materialized="incremental" unique_key="id"}}` : `{{config materialized="${kind}"}}`;
        sql = `${config}\n-- ${name}: derived from ${a}${b ? ` and ${b}` : ''}\nselect a.id, a.label, a.updated_at\nfrom {{ref "${a}"}} as a\n`;
        if (b) sql += `left join {{ref "${b}"}} as b on a.id = b.id\n`;
        sql += `where a.updated_at >= current_date - {{var "lookback_days"}}\n`;
      }
      writeFileSync(path.join(folderDir, `${name}.sql`), sql);
      yaml.push(`  - name: ${name}`, `    description: Benchmark model ${i}`, `    columns:`, `      - name: id`, `        tests: [not_null, unique]`);
      if (i % 10 === 0) yaml.push(`      - name: label`, `        tests:`, `          - accepted_values: { values: [seed, other] }`);
    }
    writeFileSync(path.join(folderDir, 'schema.yml'), yaml.join('\n') + '\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, n] = process.argv.slice(2);
  generateBenchProject(path.resolve(dir), Number(n));
}
