import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { writeArtifacts, MANIFEST_VERSION } from '../src/compiler/manifest.js';
import { parseTemplate, scanSimpleTemplate, TemplateEngine, type RenderScope } from '../src/compiler/templates.js';
import { CdpError, CdpErrors } from '../src/errors.js';
import { makeProject, removeProject } from './helpers/project.js';

const CONFIG = 'name: t\nschema: analytics\nvars:\n  n: 3\n';
let dirs: string[] = [];
afterEach(() => {
  dirs.forEach(removeProject);
  dirs = [];
});

function project(files: Record<string, string>): string {
  const dir = makeProject({ 'cdp.config.yaml': CONFIG, ...files });
  dirs.push(dir);
  return dir;
}

async function compileError(files: Record<string, string>): Promise<CdpError> {
  const err = await compileProject({ projectDir: project(files) }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CdpError);
  return err instanceof CdpErrors ? err.errors[0] : (err as CdpError);
}

describe('compiler', () => {
  it('extracts refs statically and orders the DAG', async () => {
    const dir = project({
      'models/a.sql': 'select 1 as id',
      'models/b.sql': 'select * from {{ref "a"}}',
      'models/c.sql': '{{config materialized="table"}}\nselect * from {{ref "b"}} join {{ref "a"}} using (id)',
    });
    const c = await compileProject({ projectDir: dir });
    expect(c.graph.get('model.c').dependsOn.sort()).toEqual(['model.a', 'model.b']);
    const order = c.order.filter((id) => id.startsWith('model.'));
    expect(order.indexOf('model.a')).toBeLessThan(order.indexOf('model.b'));
    expect(order.indexOf('model.b')).toBeLessThan(order.indexOf('model.c'));
    expect(c.graph.get('model.c').compiledSql).toBe('\nselect * from "analytics"."b" join "analytics"."a" using (id)');
    expect(c.graph.get('model.c').config.materialized).toBe('table');
  });

  it('finds dynamic refs by rendering', async () => {
    const dir = project({
      'cdp.config.yaml': `${CONFIG}  upstream: a\n`,
      'models/a.sql': 'select 1 as id',
      'models/b.sql': 'select * from {{ref (var "upstream")}}',
    });
    const c = await compileProject({ projectDir: dir });
    expect(c.graph.get('model.b').dependsOn).toEqual(['model.a']);
    expect(c.graph.get('model.b').compiledSql).toBe('select * from "analytics"."a"');
  });

  it('prints the cycle path', async () => {
    const err = await compileError({
      'models/a.sql': 'select * from {{ref "c"}}',
      'models/b.sql': 'select * from {{ref "a"}}',
      'models/c.sql': 'select * from {{ref "b"}}',
    });
    expect(err.message).toMatch(/dependency cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
  });

  it('names the file, line and nearest name for an unknown ref', async () => {
    const err = await compileError({
      'models/stg_orders.sql': 'select 1 as id',
      'models/report.sql': 'select 1\nfrom {{ref "stg_order"}}',
    });
    expect(err.message).toContain('unknown model or seed "stg_order"');
    expect(err.location).toMatchObject({ file: 'models/report.sql', line: 2, column: 6 });
    expect(err.hint).toContain('did you mean "stg_orders"?');
  });

  it('counts lines right for a ref after others', async () => {
    const err = await compileError({
      'models/stg_orders.sql': 'select 1 as id',
      'models/report.sql': 'select 1\nfrom {{ref "stg_orders"}}\n\njoin {{ref "stg_order"}} using (id)',
    });
    expect(err.location).toMatchObject({ file: 'models/report.sql', line: 4, column: 6 });
  });

  it('reports template syntax errors with a line', async () => {
    const err = await compileError({ 'models/bad.sql': 'select 1\n{{#if is_incremental}}\nwhere x' });
    expect(err.message).toContain('template syntax error');
    expect(err.location?.file).toBe('models/bad.sql');
    expect(err.location?.line).toBeGreaterThanOrEqual(2);
  });

  it('reports an undefined var with its line', async () => {
    const err = await compileError({ 'models/a.sql': 'select\n{{var "missing_var"}} as x' });
    expect(err.message).toContain('var "missing_var" is not defined');
    expect(err.location).toMatchObject({ file: 'models/a.sql', line: 2 });
  });

  it('refuses to render a secret env var into SQL', async () => {
    const dir = project({
      'cdp.config.yaml': 'name: t\ntargets:\n  prod:\n    type: postgres\n    password: ${env:SECRET_PW}\n',
      'models/a.sql': "select '{{env \"SECRET_PW\"}}' as leaked",
    });
    process.env.SECRET_PW = 'hunter2hunter2';
    const err = await compileProject({ projectDir: dir }).catch((e: CdpError) => e);
    delete process.env.SECRET_PW;
    expect(err).toBeInstanceOf(CdpError);
    expect((err as CdpError).message).toContain('used as a secret');
  });

  it('never needs secrets or a connection to compile', async () => {
    const dir = project({
      'cdp.config.yaml': 'name: t\ntargets:\n  prod:\n    type: postgres\n    host: 203.0.113.1\n    password: ${env:UNSET_PASSWORD_VAR}\n',
      'models/a.sql': 'select 1 as id',
    });
    const c = await compileProject({ projectDir: dir });
    expect(c.target.type).toBe('postgres');
    expect(c.graph.get('model.a').compiledSql).toBe('select 1 as id');
  });

  it('inlines ephemeral models as CTEs, merging with an existing WITH', async () => {
    const dir = project({
      'models/base.sql': '{{config materialized="ephemeral"}}select 1 as id',
      'models/mid.sql': '{{config materialized="ephemeral"}}select id + 1 as id from {{ref "base"}}',
      'models/final.sql': '-- report\nwith x as (select * from {{ref "mid"}}) select * from x',
    });
    const c = await compileProject({ projectDir: dir });
    expect(c.graph.get('model.base').relation).toBeUndefined();
    expect(c.graph.get('model.final').compiledSql).toBe(
      '-- report\nwith __cdp_ephemeral_base as (\nselect 1 as id\n),\n__cdp_ephemeral_mid as (\nselect id + 1 as id from __cdp_ephemeral_base\n),\nx as (select * from __cdp_ephemeral_mid) select * from x',
    );
  });

  it('merges config: project defaults < YAML < template', async () => {
    const dir = project({
      'cdp.config.yaml': `${CONFIG}models:\n  materialized: table\n  tags: [core]\n`,
      'models/a.sql': 'select 1 as id',
      'models/b.sql': '{{config materialized="view"}}select 1 as id',
      'models/props.yml': 'models:\n  - name: a\n    tags: [daily]\n    config: { materialized: incremental, unique_key: id, schema: marts }\n  - name: b\n    config: { materialized: table }\n',
    });
    const c = await compileProject({ projectDir: dir });
    expect(c.graph.get('model.a').config).toMatchObject({ materialized: 'incremental', unique_key: 'id' });
    expect(c.graph.get('model.a').relation).toEqual({ schema: 'marts', name: 'a' });
    expect(c.graph.get('model.a').tags.sort()).toEqual(['core', 'daily']);
    expect(c.graph.get('model.b').config.materialized).toBe('view');
  });

  it('rejects unknown materializations with a suggestion', async () => {
    const err = await compileError({ 'models/a.sql': '{{config materialized="tabel"}}select 1' });
    expect(err.message).toContain('unknown materialization "tabel"');
    expect(err.hint).toContain('did you mean "table"?');
    expect(err.location).toMatchObject({ file: 'models/a.sql', line: 1 });
  });

  it('reports YAML errors with file, line and key, all at once', async () => {
    const dir = project({
      'models/a.sql': 'select 1 as id',
      'models/props.yml': 'models:\n  - name: a\n    descripton: typo\n    columns:\n      - name: id\n        tests: [unique]\n    config:\n      materialized: [table]\n',
    });
    const err = await compileProject({ projectDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CdpErrors);
    const errors = (err as CdpErrors).errors;
    expect(errors.map((e) => e.message)).toEqual(['unknown key "descripton"', 'expected a string']);
    expect(errors[0].location).toMatchObject({ file: 'models/props.yml', line: 3, column: 5, key: 'models.0.descripton' });
    expect(errors[0].hint).toBe('did you mean "description"?');
    expect(errors[1].location).toMatchObject({ line: 8, key: 'models.0.config.materialized' });
  });

  it('builds generic and singular tests attached to their models', async () => {
    const dir = project({
      'models/a.sql': "select 1 as id, 'x' as kind",
      'models/b.sql': 'select id from {{ref "a"}}',
      'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique, not_null]\n      - name: kind\n        tests:\n          - accepted_values: { values: [x, y], severity: warn }\n  - name: b\n    columns:\n      - name: id\n        tests:\n          - relationships: { to: a, field: id }\n',
      'models/no_negative.test.sql': 'select * from {{ref "a"}} where id < 0',
    });
    const c = await compileProject({ projectDir: dir });
    const tests = [...c.graph.nodes.values()].filter((n) => n.resourceType === 'test');
    expect(tests.map((t) => t.name).sort()).toEqual(['accepted_values_a_kind', 'no_negative', 'not_null_a_id', 'relationships_b_id', 'unique_a_id']);
    const rel = c.graph.get('test.relationships_b_id');
    expect(rel.dependsOn.sort()).toEqual(['model.a', 'model.b']);
    expect(rel.test?.attachedTo).toBe('model.b');
    expect(c.graph.get('test.accepted_values_a_kind').test?.severity).toBe('warn');
    expect(c.graph.get('test.no_negative').test?.attachedTo).toBe('model.a');
  });

  it('lists generic tests in the manifest as compact references (v2)', async () => {
    const dir = project({
      'models/a.sql': "select 1 as id, 'x' as kind",
      'models/b.sql': 'select id from {{ref "a"}}',
      'models/a.yml': 'models:\n  - name: a\n    tags: [core]\n    columns:\n      - name: id\n        tests: [not_null]\n      - name: kind\n        tests:\n          - accepted_values: { values: [x, y], severity: warn }\n  - name: b\n    columns:\n      - name: id\n        tests:\n          - relationships: { to: a, field: id }\n',
      'models/no_negative.test.sql': '{{config severity="warn"}}\nselect * from {{ref "a"}} where id < 0',
    });
    const manifest = JSON.parse(readFileSync(await writeArtifacts(await compileProject({ projectDir: dir }), path.join(dir, 'target')), 'utf8'));
    expect(manifest.generic_tests).toEqual({
      'test.not_null_a_id': { type: 'not_null', attached_to: 'model.a', column: 'id' },
      'test.accepted_values_a_kind': { type: 'accepted_values', attached_to: 'model.a', column: 'kind', severity: 'warn', args: { values: ['x', 'y'] } },
      'test.relationships_b_id': { type: 'relationships', attached_to: 'model.b', column: 'id', args: { to: 'a', field: 'id' }, depends_on: ['model.b', 'model.a'] },
    });
    expect(Object.keys(manifest.nodes).filter((id) => id.startsWith('test.'))).toEqual(['test.no_negative']);
    expect(manifest.nodes['test.no_negative']).toMatchObject({
      resource_type: 'test', compiled_path: 'compiled/models/no_negative.test.sql', depends_on: ['model.a'], test: { severity: 'warn', attached_to: 'model.a' },
    });
    expect(manifest.nodes['model.a']).toMatchObject({ properties_path: 'models/a.yml', tags: ['core'] });
    expect(manifest.nodes['model.a'].test).toBeUndefined();
  });

  it('writes a versioned manifest and compiled SQL', async () => {
    const dir = project({ 'models/sub/a.sql': 'select {{var "n"}} as n' });
    const c = await compileProject({ projectDir: dir });
    const manifestPath = await writeArtifacts(c, path.join(dir, 'target'));
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    expect(manifest.schema_version).toBe(MANIFEST_VERSION);
    expect(manifest.nodes['model.a']).toMatchObject({ resource_type: 'model', relation: { schema: 'analytics', name: 'a' }, compiled_path: 'compiled/models/sub/a.sql' });
    expect(readFileSync(path.join(dir, 'target/compiled/models/sub/a.sql'), 'utf8')).toBe('select 3 as n\n');
    expect(readdirSync(path.join(dir, 'target')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('templates', () => {
  const scope = (): RenderScope => ({
    ref: (n) => `"s"."${n}"`,
    source: (s, t) => `"${s}"."${t}"`,
    variable: (n, f, has) => (n === 'limit' ? 10 : has ? f : 'X'),
    env: (_n, f) => f,
    isIncremental: true,
    thisRelation: '"s"."me"',
    file: 'm.sql',
  });

  const cases = [
    'select * from {{ref "a"}} where x > {{var "limit"}}',
    "select {{ var 'limit' }} from {{source \"raw\" 'orders'}} -- {{this}}",
    '{{config materialized="incremental" unique_key="id"}}\nselect 1 {{env "HOME_X" "d"}} {{var "missing" 5}} {{var "missing" true}}',
    '{{is_incremental}} and {{var "missing" null}}.',
    'no templates at all',
  ];

  it.each(cases)('renders the same on the fast path and through Handlebars: %s', (text) => {
    const engine = new TemplateEngine();
    const fast = parseTemplate(text, 'm.sql');
    expect(fast.scanned).toBeDefined();
    expect(scanSimpleTemplate(text)).toBeDefined();
    const ast = (engine as unknown as { hbs: typeof import('handlebars') }).hbs.parse(text);
    const viaHandlebars = { ...fast, scanned: undefined, ast };
    expect(engine.render(fast, scope())).toBe(engine.render(viaHandlebars, scope()));
    // The parts as objects (the path for templates only Handlebars parses, e.g. with comments) render the same too.
    const viaParts = { ...fast, scanned: undefined, simple: scanSimpleTemplate(text) };
    expect(engine.render(viaParts, scope())).toBe(engine.render(viaHandlebars, scope()));
  });

  it('finds refs, sources and config in a scanned template as Handlebars does', () => {
    const text = "{{config materialized='incremental' unique_key=\"id\" n=3 on=true off=false none=null}}\nselect *\n  from {{ ref 'a' }} join {{source \"raw\" 'orders'}}\n  where {{var \"x\" 1.5}} {{ref \"b\"}}";
    const scanned = parseTemplate(text, 'm.sql');
    expect(scanned.scanned).toBeDefined();
    // A comment sends the same template through Handlebars' parser (on a line of its own, so that lines and columns stay).
    const viaHandlebars = parseTemplate(`${text}\n{{!-- c --}}`, 'm.sql');
    expect(viaHandlebars.scanned).toBeUndefined();
    expect(scanned.analysis).toEqual(viaHandlebars.analysis);
    expect(scanned.analysis).toMatchObject({
      refs: [{ name: 'a', line: 3, column: 8 }, { name: 'b', line: 4, column: 25 }],
      sources: [{ source: 'raw', table: 'orders', line: 3, column: 27 }],
      config: { materialized: 'incremental', unique_key: 'id', n: 3, on: true, off: false, none: null },
      configLine: 1,
    });
  });

  it('falls back to Handlebars for blocks and keeps working', () => {
    const engine = new TemplateEngine();
    const t = engine.parse('select 1{{#if is_incremental}} where x > (select max(x) from {{this}}){{/if}}', 'm.sql');
    expect(t.simple).toBeUndefined();
    expect(t.scanned).toBeUndefined();
    expect(t.analysis.refs).toEqual([]);
    expect(engine.render(t, scope())).toBe('select 1 where x > (select max(x) from "s"."me")');
    expect(engine.render(t, { ...scope(), isIncremental: false })).toBe('select 1');
  });
});
