/**
 * Generates a synthetic project of N models for the compile benchmark: each model refs one
 * or two earlier models, materializations are mixed, and every model has YAML tests.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const KINDS = ['view', 'table', 'incremental', 'view', 'table'];
const PER_FOLDER = 100;
/** Change when the generated project changes, so that existing copies are regenerated. */
const GENERATOR_VERSION = 1;
const MARKER = '.bench-project';

/**
 * Generates the project into `dir`, unless an identical one is already there. Deleting and
 * re-creating its 10,000 files just before a cold compile would slow that compile down for
 * reasons of the file system, not of the compiler (see BENCHMARKS.md, "Compile").
 */
export function generateBenchProject(dir: string, models: number): void {
  const marker = path.join(dir, MARKER);
  const stamp = JSON.stringify({ version: GENERATOR_VERSION, models });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp) return;
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
  writeFileSync(marker, stamp);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, n] = process.argv.slice(2);
  generateBenchProject(path.resolve(dir), Number(n));
}
