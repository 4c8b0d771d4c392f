import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject, type CompileOptions } from '../src/compiler/compile.js';
import { manifestJson } from '../src/compiler/manifest.js';
import { makeTemplateScanner } from '../src/compiler/template-scan.js';
import { scanTemplate } from '../src/compiler/templates.js';
import { CdpError, CdpErrors } from '../src/errors.js';
import { loadProject, startLoadingProject, type Project } from '../src/project/project.js';
import { parseYamlText } from '../src/project/schema.js';
import { TEXT_CHUNK, YAML_WORKER_MIN_BYTES, type ParsedYamlFile, type TextScan } from '../src/project/load-worker.js';
import { startReadingProject } from '../src/project/project-reading.js';
import { makeProject, removeProject } from './helpers/project.js';

let dirs: string[] = [];
afterEach(() => {
  dirs.forEach(removeProject);
  dirs = [];
});

function project(files: Record<string, string>): string {
  const dir = makeProject({ 'cdp.config.yaml': 'name: t\nschema: analytics\n', ...files });
  dirs.push(dir);
  return dir;
}

/**
 * A project whose property files are large enough for the YAML worker: `folders` folders of
 * 20 models, each described at length.
 */
function largeProject(folders: number, extra: Record<string, string> = {}): string {
  const files: Record<string, string> = {};
  const padding = 'x'.repeat(Math.ceil(YAML_WORKER_MIN_BYTES / (folders * 20)));
  for (let f = 0; f < folders; f++) {
    const yaml = ['models:'];
    for (let i = 0; i < 20; i++) {
      const name = `m${f}_${i}`;
      files[`models/f${f}/${name}.sql`] = i === 0 ? 'select 1 as id' : `select id from {{ref "m${f}_${i - 1}"}}`;
      yaml.push(`  - name: ${name}`, `    description: "${name} ${padding}"`, `    config: { tags: [t${i % 3}], meta: { n: ${i}, on: true, nothing: null } }`, '    columns:', '      - name: id', '        tests: [not_null, unique]');
    }
    files[`models/f${f}/schema.yml`] = yaml.join('\n') + '\n';
  }
  return project({ ...files, ...extra });
}

/** What a project's properties say, as plain data (locations by key path). */
function properties(p: Project) {
  return {
    resources: p.resources.map((r) => ({ ...r, location: `${r.location.file}#${r.location.key}`, tests: r.tests.map((t) => ({ raw: t.raw, column: t.column, at: `${t.location.file}#${t.location.key}` })) })),
    sources: p.sources.map((s) => ({ ...s, location: `${s.location.file}#${s.location.key}`, tests: s.tests.length })),
  };
}

describe('loading a project whose property files are parsed on a worker', () => {
  it('gives the same project as loading it on one thread', async () => {
    const dir = largeProject(12);
    const loading = startLoadingProject(dir);
    expect(loading.project.resources).toEqual([]);
    await loading.models();
    await loading.properties();
    const expected = loadProject(dir);
    expect(properties(loading.project)).toEqual(properties(expected));
    expect(loading.project.resources).toHaveLength(240);
    expect(loading.project.models.map((m) => m.path)).toEqual(expected.models.map((m) => m.path));
    const c = await compileProject({ projectDir: dir });
    expect([...c.graph.nodes.values()].filter((n) => n.resourceType === 'test')).toHaveLength(480);
    expect(c.graph.get('model.m3_7').config).toMatchObject({ tags: ['t1'], meta: { n: 7, on: true } });
  });

  it('reports YAML syntax errors and schema problems exactly as on one thread', async () => {
    const dir = largeProject(12, {
      'models/f2/schema.yml': 'models:\n  - name: m2_0\n    description: [unclosed\n',
      'models/f5/schema.yml': 'models:\n  - name: m5_0\n    descripton: typo\n',
    });
    const oneThread = (() => {
      try {
        loadProject(dir);
      } catch (err) {
        return err;
      }
    })();
    expect(oneThread).toBeInstanceOf(CdpErrors);
    const worker = await compileProject({ projectDir: dir }).then(() => undefined, (err: unknown) => err);
    expect(worker).toBeInstanceOf(CdpErrors);
    const describe = (e: CdpError) => ({ message: e.message, hint: e.hint, location: { ...e.location } });
    expect((worker as CdpErrors).errors.map(describe)).toEqual((oneThread as CdpErrors).errors.map(describe));
    expect((worker as CdpErrors).errors.map((e) => e.location?.file)).toEqual(['models/f2/schema.yml', 'models/f5/schema.yml']);
  });

  it('parses files as parseYamlText does, on whichever thread takes them', async () => {
    const dir = project({
      'a.yml': 'a: 1\nb: [x, "y", 2.5, .inf, null, true]\nc: { d: 2026-01-01 }\n',
      'b.yml': 'x: [1, 2\n',
      'c.yml': '',
    });
    const files = ['a.yml', 'b.yml', 'c.yml', 'missing.yml'].map((rel) => ({ abs: path.join(dir, rel), rel }));
    /** Every file's result, checking that they come in order. */
    const readAll = async (opts: { help: boolean; yamlWorkerMinBytes?: number }) => {
      const results: ParsedYamlFile[] = [];
      const reading = startReadingProject([], files, 1, opts);
      const yaml = reading.readYaml((i, result) => {
        expect(i).toBe(results.length);
        results.push(result);
      });
      // This thread helps with property files once it is done with the texts (none here).
      expect(await reading.readTexts(() => undefined)).toBe(0);
      await yaml;
      return results;
    };
    // All on the worker; then shared with this thread (which gets there first: the worker has not
    // started when it is asked); then all on this thread (no worker).
    for (const results of [await readAll({ help: false }), await readAll({ help: true }), await readAll({ help: true, yamlWorkerMinBytes: Infinity })]) {
      expect(results[0]).toEqual({ text: expect.any(String), value: parseYamlText(results[0] && 'text' in results[0] ? results[0].text : '', 'a.yml') });
      expect(results[0]).toMatchObject({ value: { a: 1, b: ['x', 'y', 2.5, Infinity, null, true], c: { d: '2026-01-01' } } });
      expect(results[1]).toEqual({ text: 'x: [1, 2\n', syntaxError: { reason: expect.any(String), message: expect.any(String), line: 1, column: 0 } });
      expect(results[2]).toEqual({ text: '', value: undefined });
      expect(results[3]).toMatchObject({ readError: { code: 'ENOENT' } });
    }
  });
});

/** Model texts of the kinds the loader meets: for the scanner, and for Handlebars. */
function modelText(i: number): string {
  const prev = `m${String(i - 1).padStart(4, '0')}`;
  if (i === 0) return '{{config materialized="table"}}\nselect 1 as id';
  switch (i % 7) {
    case 1:
      return `{{#if is_incremental}}-- incremental\n{{/if}}select id from {{ref "${prev}"}}`;
    case 2:
      return `{{config materialized='view' tags="t"}}\nselect id, '{{var "x" "d"}}' as x\nfrom {{ref "${prev}"}} -- {{this}} {{is_incremental}}`;
    case 3:
      return `{{!-- a comment --}}select id from {{ref "${prev}"}}`;
    default:
      return `select id,\n  {{var "n" 1.5}} as n, {{var "none" null}} as z\nfrom {{ ref '${prev}' }}`;
  }
}

/** `n` models in folders of 100, with their properties (padded past the YAML worker's threshold when `padYaml`). */
function modelsProject(n: number, opts: { padYaml?: boolean; extra?: Record<string, string> } = {}): string {
  const files: Record<string, string> = {};
  const padding = opts.padYaml ? 'x'.repeat(Math.ceil(YAML_WORKER_MIN_BYTES / n)) : 'x';
  for (let f = 0; f * 100 < n; f++) {
    const yaml = ['models:'];
    for (let i = f * 100; i < Math.min(n, (f + 1) * 100); i++) {
      const name = `m${String(i).padStart(4, '0')}`;
      files[`models/f${f}/${name}.sql`] = modelText(i);
      yaml.push(`  - name: ${name}`, `    description: "${padding}"`, '    columns:', '      - name: id', '        tests: [not_null]');
    }
    files[`models/f${f}/schema.yml`] = yaml.join('\n') + '\n';
  }
  return project({ 'cdp.config.yaml': 'name: t\nschema: analytics\nvars:\n  n: 2\n', ...files, ...opts.extra });
}

/** The scan as plain numbers, to compare scans made on either thread. */
const numbers = (scan: TextScan | undefined) => (scan ? Array.from(scan.ops.subarray(scan.from, scan.to)) : scan);

/** The manifest (without its time) and every model's SQL. */
async function compileOutput(dir: string, loading: CompileOptions['loading']) {
  const c = await compileProject({ projectDir: dir, loading });
  const nodes = c.order.map((id) => c.graph.get(id));
  const manifest = [...manifestJson(c, nodes)].join('').replace(/"generated_at":"[^"]*"/, '');
  return { manifest, sql: nodes.map((n) => [n.id, n.compiledSql]) };
}

describe('reading and scanning models on a worker', () => {
  const onThisThread = { textWorkerMinFiles: Infinity, yamlWorkerMinBytes: Infinity };
  const onTheWorker = { textWorkerMinFiles: 1, yamlWorkerMinBytes: 0, help: false };

  it('gives each model the text and scan it gets on one thread', async () => {
    const dir = modelsProject(5 * TEXT_CHUNK + 3);
    const expected = loadProject(dir);
    for (const opts of [onTheWorker, { textWorkerMinFiles: 1 }, onThisThread]) {
      const loading = startLoadingProject(dir, { ...opts, scanner: makeTemplateScanner });
      const seen: { index: number; path: string; text: string; scan: unknown }[] = [];
      const fromWorker = await loading.models((index, file, scan) => seen.push({ index, path: file.path, text: file.text, scan: numbers(scan) }));
      await loading.properties();
      if (opts === onTheWorker) expect(fromWorker).toBe(expected.models.length);
      if (opts === onThisThread) expect(fromWorker).toBe(0);
      seen.sort((a, b) => a.index - b.index);
      expect(seen.map((m) => m.index)).toEqual(expected.models.map((_, i) => i));
      expect(seen.map((m) => m.path)).toEqual(expected.models.map((m) => m.path));
      expect(seen.map((m) => m.text)).toEqual(expected.models.map((m) => m.text));
      expect(seen.map((m) => m.scan)).toEqual(expected.models.map((m) => numbers(scanTemplate(m.text))));
      expect(loading.project.models.map((m) => m.text)).toEqual(expected.models.map((m) => m.text));
      expect(properties(loading.project)).toEqual(properties(expected));
    }
    // Templates the scanner does not take are marked so, not left unscanned.
    const loading = startLoadingProject(dir, { ...onTheWorker, scanner: makeTemplateScanner });
    const scans = new Map<string, TextScan | undefined>();
    await loading.models((_, file, scan) => scans.set(file.path, scan));
    await loading.properties();
    expect(scans.get('models/f0/m0001.sql')).toBe(false);
    expect(scans.get('models/f0/m0004.sql')).toMatchObject({ ops: expect.any(Int32Array) });
  });

  it('compiles to the same manifest and SQL on one thread and with the worker', async () => {
    const dir = modelsProject(6 * TEXT_CHUNK, { padYaml: true });
    const one = await compileOutput(dir, onThisThread);
    expect(one.sql.filter(([id]) => String(id).startsWith('model.'))).toHaveLength(6 * TEXT_CHUNK);
    expect(await compileOutput(dir, onTheWorker)).toEqual(one);
    // Shared: this thread reads texts from the back and leaves the property files to the worker.
    expect(await compileOutput(dir, { textWorkerMinFiles: 1, yamlWorkerMinBytes: 0 })).toEqual(one);
    expect(await compileOutput(dir, undefined)).toEqual(one);
  });

  it('reports problems in files read on the worker with their file and line, as on one thread', async () => {
    const dir = modelsProject(4 * TEXT_CHUNK, {
      extra: {
        'models/f0/m0010.sql': 'select 1\nfrom {{ref "m0001" "m0002"}}',
        'models/f1/m0150.sql': 'select 1\n\n{{#if x}}unclosed',
        'models/f2/m0222.sql': 'select 1 from\n  {{ref "nope"}}',
      },
    });
    const describeAll = (e: unknown) =>
      (e instanceof CdpErrors ? e.errors : [e as CdpError]).map((x) => ({ message: x.message, hint: x.hint, location: { file: x.location?.file, line: x.location?.line, column: x.location?.column } }));
    const fail = (loading: CompileOptions['loading']) => compileProject({ projectDir: dir, loading }).then(() => undefined, (e: unknown) => describeAll(e));
    const expected = await fail(onThisThread);
    expect(expected).toEqual(expect.arrayContaining([
      expect.objectContaining({ message: 'ref takes one model or seed name, e.g. {{ref "stg_orders"}}', location: { file: 'models/f0/m0010.sql', line: 2, column: 6 } }),
      expect.objectContaining({ message: expect.stringMatching(/^template syntax error/), location: { file: 'models/f1/m0150.sql', line: 3, column: undefined } }),
    ]));
    expect(await fail(onTheWorker)).toEqual(expected);
    // Once those are fixed, the unknown ref is reported at its line and column.
    const fixed = modelsProject(4 * TEXT_CHUNK, { extra: { 'models/f2/m0222.sql': 'select 1 from\n  {{ref "nope"}}' } });
    const unknown = await compileProject({ projectDir: fixed, loading: onTheWorker }).catch((e: CdpError) => e);
    expect(unknown).toBeInstanceOf(CdpError);
    expect((unknown as CdpError).message).toBe('ref to unknown model or seed "nope"');
    expect((unknown as CdpError).location).toMatchObject({ file: 'models/f2/m0222.sql', line: 2, column: 3 });
  });

  it('rejects with the error reading the first unreadable file, on either thread', async () => {
    const dir = project({ 'a.sql': 'select 1' });
    const texts = Array.from({ length: 3 * TEXT_CHUNK }, (_, i) => path.join(dir, i === TEXT_CHUNK + 5 || i === 2 * TEXT_CHUNK ? `missing-${i}.sql` : 'a.sql'));
    for (const opts of [{ textWorkerMinFiles: 1, help: false }, { textWorkerMinFiles: Infinity }]) {
      const reading = startReadingProject(texts, [], 0, { ...opts, scanner: makeTemplateScanner });
      const got: number[] = [];
      const err = await reading.readTexts((i) => got.push(i)).then(() => undefined, (e: NodeJS.ErrnoException) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ code: 'ENOENT', path: path.join(dir, `missing-${TEXT_CHUNK + 5}.sql`), syscall: 'open' });
      expect(got).toHaveLength(3 * TEXT_CHUNK - 2);
      await reading.readYaml(() => undefined);
    }
  });
});
