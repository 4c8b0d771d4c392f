import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { HASHING_WORKER_THRESHOLD, INDEX_FILE, preheatCompiledFilesWriter, startWritingCompiledFiles, WORKER_THRESHOLD } from '../src/compiler/compiled-files.js';
import { buildManifest, manifestJson, writeArtifacts, type Manifest } from '../src/compiler/manifest.js';
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
    // Generic tests are compact references to what they check: no file, SQL or checksum.
    expect(manifest.nodes['test.not_null_m5_id']).toBeUndefined();
    expect(manifest.generic_tests['test.not_null_m5_id']).toEqual({ type: 'not_null', attached_to: 'model.m5', column: 'id' });
    expect(manifest.nodes['model.m5'].properties_path).toBe('models/g0/schema.yml');
    expect(existsSync(path.join(target, 'compiled', 'models', 'g0', 'schema.yml'))).toBe(false);

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
    expect(readdirSync(target).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['hashes here and shares the writing with a worker', WORKER_THRESHOLD * 3],
    ['leaves hashing, planning and a share of the writing to a worker', HASHING_WORKER_THRESHOLD + 50],
  ])('%s, whoever gets there first', async (_, count) => {
    const files = Array.from({ length: count }, (_, i) => ({ rel: `d${i % 7}/f${i}.sql`, sql: `select ${i}` }));
    for (const delay of [0, 300]) {
      const dir = mkdtempSync(path.join(tmpdir(), 'cdp-compiled-'));
      dirs.push(dir);
      // Started ahead of need (as a compile does) for one of the two.
      if (delay) preheatCompiledFilesWriter();
      const writing = startWritingCompiledFiles(dir, files);
      // The worker hashes every file, first.
      expect(await writing.checksums).toEqual(files.map((f) => sha256(f.sql)));
      // Without a delay the caller usually takes most files; with one, the worker takes them all.
      await new Promise((r) => setTimeout(r, delay));
      expect(await writing.finish()).toBe(files.length);
      for (const i of [0, 1, files.length - 1]) expect(readFileSync(path.join(dir, files[i].rel), 'utf8')).toBe(`select ${i}\n`);
      expect(readdirSync(dir).sort()).toEqual([INDEX_FILE, 'd0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6']);
      expect(Object.keys(JSON.parse(readFileSync(path.join(dir, INDEX_FILE), 'utf8')))).toHaveLength(files.length);
      // Nothing changed: nothing is written, and the index is left alone.
      expect(await startWritingCompiledFiles(dir, files).finish()).toBe(0);
      // A few files are hashed and written on this thread alone, with the same outcome.
      const few = files.slice(0, WORKER_THRESHOLD - 1).map((f) => ({ ...f, sql: `${f.sql} -- changed` }));
      const here = startWritingCompiledFiles(dir, few);
      expect(await here.checksums).toEqual(few.map((f) => sha256(f.sql)));
      expect(await here.finish()).toBe(few.length);
      expect(readFileSync(path.join(dir, few[5].rel), 'utf8')).toBe(`${few[5].sql}\n`);
      expect(Object.keys(JSON.parse(readFileSync(path.join(dir, INDEX_FILE), 'utf8')))).toHaveLength(few.length);
    }
  });

  it('serialises the manifest in chunks exactly as one JSON.stringify would', async () => {
    const dir = bigProject(WORKER_THRESHOLD + 400);
    const compiled = await compileProject({ projectDir: dir });
    const text = readFileSync(await writeArtifacts(compiled, path.join(dir, 'target')), 'utf8');
    const generatedAt = (JSON.parse(text) as { generated_at: string }).generated_at;
    expect(compiled.order.length).toBeGreaterThan(1024);
    expect(text).toBe([...manifestJson(compiled, compiled.order.map((id) => compiled.graph.get(id)))].join('').replace(/"generated_at":"[^"]*"/, `"generated_at":"${generatedAt}"`));
    expect(text).toBe(JSON.stringify({ ...buildManifest(compiled), generated_at: generatedAt }));
  });

  it('serialises odd strings and values exactly as JSON.stringify would', async () => {
    const odd = 'quote " backslash \\ tab \t newline \n nul \u0001 lone \ud800 pair \ud83d\ude00 sep \u2028 é';
    const dir = makeProject({
      'cdp.config.yaml': `name: odd\nschema: analytics\nvars:\n  v: 1\nmodels:\n  tags: [base]\n`,
      'models/a.sql': '{{config materialized="table" tags="x"}}select 1 as id, 2 as "k"',
      'models/sub dir/b "q".sql': 'select * from {{ref "a"}}',
      'models/c.sql': '{{config materialized="ephemeral"}}select 1 as id',
      'models/d.sql': 'select * from {{ref "c"}}',
      'models/e.test.sql': '{{config severity="warn"}}select * from {{ref "a"}} where id < 0',
      'models/props.yml': [
        'models:',
        '  - name: a',
        `    description: ${JSON.stringify(odd)}`,
        '    tags: [t1, "t \\" 2", "back\\\\slash", "tab\\t", "lone\\ud800", "nul\\x01"]',
        '    config: { meta: { n: 1.5, none: null, list: [1, "two", [3]], nested: { deep: true } } }',
        '    columns:',
        `      - { name: id, description: ${JSON.stringify(odd)}, data_type: integer, tests: [not_null, { unique: { severity: warn } }] }`,
        '      - { name: k, tests: [{ accepted_values: { values: [1, "2", null], quote: false, where: "id > 0" } }, { relationships: { to: "ref(\'d\')", field: id } }] }',
        '      - { name: "x\\"y" }',
        '  - name: d',
        '    columns: [{ name: id, tests: [{ expression: "id >= 0" }] }]',
        'sources:',
        '  - name: raw',
        '    tables: [{ name: t, identifier: "T \\"1\\"", description: "", columns: [{ name: id, tests: [not_null] }] }]',
      ].join('\n') + '\n',
    });
    dirs.push(dir);
    const compiled = await compileProject({ projectDir: dir });
    const text = [...manifestJson(compiled, compiled.order.map((id) => compiled.graph.get(id)))].join('');
    const generatedAt = (JSON.parse(text) as { generated_at: string }).generated_at;
    expect(text).toBe(JSON.stringify({ ...buildManifest(compiled), generated_at: generatedAt }));
    const manifest = JSON.parse(text) as Manifest;
    expect(manifest.nodes['model.a'].description).toBe(odd);
    expect(manifest.nodes['model.a'].tags).toEqual(['base', 'x', 't1', 't " 2', 'back\\slash', 'tab\t', 'lone\ud800', 'nul\u0001']);
    expect(manifest.generic_tests['test.unique_a_id']).toEqual({ type: 'unique', attached_to: 'model.a', column: 'id', severity: 'warn' });
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

  it('reports a file the worker cannot write, after hashing and planning on it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cdp-compiled-'));
    dirs.push(dir);
    const files = Array.from({ length: HASHING_WORKER_THRESHOLD }, (_, i) => ({ rel: `d${i % 7}/f${i}.sql`, sql: `select ${i}` }));
    // A file where one of the directories should be makes the writes in it fail.
    writeFileSync(path.join(dir, 'd3'), 'not a directory');
    const writing = startWritingCompiledFiles(dir, files);
    expect(await writing.checksums).toHaveLength(files.length);
    await expect(writing.finish()).rejects.toThrow(/ENOTDIR|EEXIST|not a directory/i);
    expect(existsSync(path.join(dir, INDEX_FILE))).toBe(false);
  });

  it('leaves no manifest (nor a temporary one) when a compiled file cannot be written', async () => {
    const dir = bigProject(WORKER_THRESHOLD + 1);
    const target = path.join(dir, 'target');
    // A file where one of the compiled/ directories should be makes the writes in it fail.
    mkdirSync(path.join(target, 'compiled', 'models'), { recursive: true });
    writeFileSync(path.join(target, 'compiled', 'models', 'g3'), 'not a directory');
    await expect(writeArtifacts(await compileProject({ projectDir: dir }), target)).rejects.toThrow(/ENOTDIR|EEXIST|not a directory/i);
    expect(readdirSync(target)).toEqual(['compiled']);
  });
});
