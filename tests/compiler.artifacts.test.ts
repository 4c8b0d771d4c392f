import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { WORKER_THRESHOLD } from '../src/compiler/compiled-files.js';
import { buildManifest, writeArtifacts } from '../src/compiler/manifest.js';
import { loadProject } from '../src/project/project.js';
import { makeProject, removeProject } from './helpers/project.js';

let dirs: string[] = [];
afterEach(() => {
  dirs.forEach(removeProject);
  dirs = [];
});

/** A project with `n` models in folders of 50, each refs the previous one and has a test. */
function bigProject(n: number, lookback = 3): string {
  const files: Record<string, string> = { 'cdp.config.yaml': `name: big\nschema: analytics\nvars:\n  lookback: ${lookback}\n` };
  for (let i = 0; i < n; i++) {
    const folder = `models/g${Math.floor(i / 50)}`;
    files[`${folder}/m${i}.sql`] = i === 0 ? 'select 1 as id' : `select id from {{ref "m${i - 1}"}} where {{var "lookback"}} > 0`;
    files[`${folder}/schema.yml`] = (files[`${folder}/schema.yml`] ?? 'models:\n') + `  - name: m${i}\n    columns:\n      - name: id\n        tests: [not_null]\n`;
  }
  const dir = makeProject(files);
  dirs.push(dir);
  return dir;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('compile artifacts of a large project', () => {
  it('writes every compiled file from the worker, then only what changed', async () => {
    const n = WORKER_THRESHOLD + 44;
    const dir = bigProject(n);
    const target = path.join(dir, 'target');
    const manifestPath = await writeArtifacts(await compileProject({ projectDir: dir }), target);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const file = (i: number) => path.join(target, 'compiled', 'models', `g${Math.floor(i / 50)}`, `m${i}.sql`);
    for (const i of [0, 1, n - 1]) {
      const sql = readFileSync(file(i), 'utf8');
      expect(sql).toBe(i === 0 ? 'select 1 as id\n' : `select id from "analytics"."m${i - 1}" where 3 > 0\n`);
      expect(manifest.nodes[`model.m${i}`].checksum).toBe(sha256(sql.trimEnd()));
    }
    // Generic tests carry their SQL, not a file or a checksum.
    expect(manifest.nodes['test.not_null_m5_id']).toMatchObject({ compiled_sql: expect.stringContaining('"analytics"."m5"') });
    expect(manifest.nodes['test.not_null_m5_id'].checksum).toBeUndefined();

    // Warm: nothing changed, nothing is rewritten; a deleted file comes back.
    const before = statSync(file(7)).mtimeMs;
    rmSync(file(9));
    await new Promise((r) => setTimeout(r, 20));
    await writeArtifacts(await compileProject({ projectDir: dir }), target);
    expect(statSync(file(7)).mtimeMs).toBe(before);
    expect(readFileSync(file(9), 'utf8')).toBe('select id from "analytics"."m8" where 3 > 0\n');

    // A changed var rewrites the files that use it.
    writeFileSync(path.join(dir, 'cdp.config.yaml'), 'name: big\nschema: analytics\nvars:\n  lookback: 4\n');
    await writeArtifacts(await compileProject({ projectDir: dir }), target);
    expect(readFileSync(file(7), 'utf8')).toBe('select id from "analytics"."m6" where 4 > 0\n');
    expect(readFileSync(file(0), 'utf8')).toBe('select 1 as id\n');
    expect(existsSync(`${manifestPath}.tmp`)).toBe(false);
  });

  it('serialises the manifest in chunks exactly as one JSON.stringify would', async () => {
    const dir = bigProject(WORKER_THRESHOLD + 400);
    const compiled = await compileProject({ projectDir: dir });
    const text = readFileSync(await writeArtifacts(compiled, path.join(dir, 'target')), 'utf8');
    const generatedAt = (JSON.parse(text) as { generated_at: string }).generated_at;
    expect(compiled.order.length).toBeGreaterThan(1024);
    expect(text).toBe(JSON.stringify({ ...buildManifest(compiled), generated_at: generatedAt }));
  });

  it('reads a large project in order and complete', async () => {
    const n = 1010;
    const dir = bigProject(n);
    const project = loadProject(dir);
    const paths = Array.from({ length: n }, (_, i) => `models/g${Math.floor(i / 50)}/m${i}.sql`);
    expect(project.models.map((m) => m.path)).toEqual(paths.sort());
    const m7 = project.models.find((m) => m.name === 'm7')!;
    expect(m7).toMatchObject({ path: 'models/g0/m7.sql', text: 'select id from {{ref "m6"}} where {{var "lookback"}} > 0' });
    expect(project.resources).toHaveLength(n);
    const compiled = await compileProject({ projectDir: dir });
    expect(compiled.graph.get(`model.m${n - 1}`).compiledSql).toBe(`select id from "analytics"."m${n - 2}" where 3 > 0`);
    expect([...compiled.graph.nodes.values()].filter((node) => node.resourceType === 'test')).toHaveLength(n);
  });

  it('reports a failed write and leaves no manifest behind', async () => {
    const dir = bigProject(WORKER_THRESHOLD + 1);
    const target = path.join(dir, 'target');
    // A file where the compiled/ directory should be makes every write fail.
    writeFileSync(path.join(dir, 'target'), 'not a directory');
    await expect(writeArtifacts(await compileProject({ projectDir: dir }), target)).rejects.toThrow(/ENOTDIR|EEXIST|not a directory/i);
    expect(existsSync(path.join(target, 'manifest.json'))).toBe(false);
  });
});
