import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { CdpError, CdpErrors } from '../src/errors.js';
import { loadProject, startLoadingProject, type Project } from '../src/project/project.js';
import { parseYamlText } from '../src/project/schema.js';
import { startParsingYaml, YAML_WORKER_MIN_BYTES } from '../src/project/yaml-worker.js';
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
    // All on the worker, then all on this thread (the worker has not started when it is asked).
    for (const results of [await startParsingYaml(files).finish({ help: false }), await startParsingYaml(files).finish()]) {
      expect(results[0]).toEqual({ text: expect.any(String), value: parseYamlText(results[0] && 'text' in results[0] ? results[0].text : '', 'a.yml') });
      expect(results[0]).toMatchObject({ value: { a: 1, b: ['x', 'y', 2.5, Infinity, null, true], c: { d: '2026-01-01' } } });
      expect(results[1]).toEqual({ text: 'x: [1, 2\n', syntaxError: { reason: expect.any(String), message: expect.any(String), line: 1, column: 0 } });
      expect(results[2]).toEqual({ text: '', value: undefined });
      expect(results[3]).toMatchObject({ readError: { code: 'ENOENT' } });
    }
  });
});
