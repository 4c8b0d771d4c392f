/**
 * `cdp.config.yaml` and property files: defaults, validation with locations, and secrets.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CdpError, CdpErrors, formatError } from '../src/errors.js';
import { loadConfig, resolveTarget, type ProjectConfig } from '../src/project/config.js';
import { parseProperties } from '../src/project/properties.js';
import { redact } from '../src/project/secrets.js';
import { makeProject, removeProject } from './helpers/project.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeProject(dir);
});

function configFrom(yaml: string): ProjectConfig {
  const dir = makeProject({ 'cdp.config.yaml': yaml });
  dirs.push(dir);
  return loadConfig(dir);
}

/** The error a thunk throws (unwrapped when it is a list of one), and its text as the CLI prints it. */
function failure(fn: () => unknown): { error: CdpError; text: string; all: CdpError[] } {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CdpError)) throw err;
    const all = err instanceof CdpErrors ? err.errors : [err];
    return { error: all.length === 1 ? all[0] : err, text: formatError(err), all };
  }
  throw new Error('expected a CdpError, but nothing was thrown');
}

describe('loadConfig', () => {
  it('defaults to an embedded DuckDB target and the documented settings', () => {
    const config = configFrom('name: shop\n');
    expect(config.name).toBe('shop');
    expect(config.targets).toEqual({ dev: { type: 'duckdb' } });
    expect(config.defaultTarget).toBe('dev');
    expect(config.schema).toBe('analytics');
    expect(config.stateSchema).toBe('cdp_state');
    expect(config.threads).toBe(4);
    expect(config.vars).toEqual({});
    expect(config.modelDefaults).toEqual({ materialized: 'view', schema: undefined, tags: [] });

    const target = resolveTarget(config, undefined);
    expect(target).toMatchObject({ name: 'dev', type: 'duckdb', schema: 'analytics', threads: 4 });
    expect(target.settings.path).toBe(path.join(config.dir, '.cdp', 'dev.duckdb'));
  });

  it('treats an empty targets mapping like no targets', () => {
    expect(configFrom('name: shop\ntargets: {}\n').targets).toEqual({ dev: { type: 'duckdb' } });
  });

  it('uses the first target when `target` is not given, and target settings over project ones', () => {
    const config = configFrom(
      'name: shop\nschema: marts\nthreads: 8\nstate_schema: ops\ntargets:\n  local:\n    type: duckdb\n    path: data/local.duckdb\n    schema: scratch\n    threads: 2\n  other:\n    type: duckdb\n',
    );
    expect(config.defaultTarget).toBe('local');
    expect(config.stateSchema).toBe('ops');
    const local = resolveTarget(config, undefined);
    expect(local).toMatchObject({ name: 'local', schema: 'scratch', threads: 2 });
    expect(local.settings.path).toBe(path.join(config.dir, 'data', 'local.duckdb'));
    const other = resolveTarget(config, 'other');
    expect(other).toMatchObject({ name: 'other', schema: 'marts', threads: 8 });
    expect(other.settings.path).toBe(path.join(config.dir, '.cdp', 'other.duckdb'));
  });

  it.each([
    ['top level', 'name: shop\nschemas: x\n', 2, 1, 'schemas', 'did you mean "schema"?'],
    ['a duckdb target', 'name: shop\ntargets:\n  dev:\n    type: duckdb\n    paht: x.duckdb\n', 5, 5, 'targets.dev.paht', 'did you mean "path"?'],
    ['a postgres target', 'name: shop\ntargets:\n  pg:\n    type: postgres\n    hots: db\n', 5, 5, 'targets.pg.hots', 'did you mean "host"?'],
    ['a key of another target type', 'name: shop\ntargets:\n  pg:\n    type: postgres\n    path: x.duckdb\n', 5, 5, 'targets.pg.path', 'allowed keys:'],
    ['models defaults', 'name: shop\nmodels:\n  materialised: table\n', 3, 3, 'models.materialised', 'did you mean "materialized"?'],
    ['seeds defaults', 'name: shop\nseeds:\n  schemas: raw\n', 3, 3, 'seeds.schemas', 'did you mean "schema"?'],
  ])('reports an unknown key in %s with line, column and key path', (_where, yaml, line, column, key, hint) => {
    const { error: only, text, all } = failure(() => configFrom(yaml));
    expect(all).toHaveLength(1);
    expect(only.location).toMatchObject({ line, column, key });
    expect(only.location!.file).toMatch(/cdp\.config\.yaml$/);
    expect(text).toMatch(new RegExp(`cdp\\.config\\.yaml:${line}:${column}: unknown key "${key.split('.').pop()}" \\(key \`${key.replace(/\./g, '\\.')}\`\\)`));
    expect(only.hint).toContain(hint);
  });

  it('reports every problem in the file at once', () => {
    const { all } = failure(() => configFrom('name: shop\ntreads: 2\ntargets:\n  dev:\n    type: duckdb\n    threads: 0\n'));
    expect(all.map((e) => [e.location?.key, e.message])).toEqual([
      ['treads', 'unknown key "treads"'],
      ['targets.dev.threads', 'must be at least 1'],
    ]);
    expect(all.map((e) => e.location?.line)).toEqual([2, 6]);
  });

  it('validates each target against the schema of its type', () => {
    const missing = failure(() => configFrom('name: shop\ntargets:\n  dev:\n    path: x.duckdb\n'));
    expect(missing.error.message).toBe('missing `type`');
    expect(missing.error.location).toMatchObject({ key: 'targets.dev', line: 4 });
    expect(missing.error.hint).toBe('expected one of: duckdb, postgres, bigquery, snowflake');

    const unknown = failure(() => configFrom('name: shop\ntargets:\n  dev:\n    type: postgre\n'));
    expect(unknown.error.message).toBe('unknown type "postgre"');
    expect(unknown.error.location).toMatchObject({ key: 'targets.dev.type', line: 4, column: 11 });
    expect(unknown.error.hint).toMatch(/^did you mean "postgres"\? expected one of:/);

    const badPort = failure(() => configFrom('name: shop\ntargets:\n  pg:\n    type: postgres\n    port: fivefourthreetwo\n'));
    expect(badPort.error.message).toBe('expected a number');
    expect(badPort.error.location).toMatchObject({ key: 'targets.pg.port', line: 5, column: 11 });

    const badSchema = failure(() => configFrom('name: shop\ntargets:\n  dev:\n    type: duckdb\n    schema: my-schema\n'));
    expect(badSchema.error.message).toBe('invalid value "my-schema"');
    expect(badSchema.error.hint).toMatch(/letters, digits and underscores/);

    // Planned warehouses validate now, even though they cannot be connected to yet.
    const planned = configFrom('name: shop\ntargets:\n  bq:\n    type: bigquery\n    project: acme\n    dataset: marts\n    maximum_bytes_billed: 1000\n');
    expect(planned.targets.bq).toEqual({ type: 'bigquery', project: 'acme', dataset: 'marts', maximum_bytes_billed: 1000 });
  });

  it('accepts secrets only as ${env:NAME} references', () => {
    for (const field of ['password', 'private_key_passphrase']) {
      const type = field === 'password' ? 'postgres' : 'snowflake';
      const { error } = failure(() => configFrom(`name: shop\ntargets:\n  prod:\n    type: ${type}\n    ${field}: hunter2\n`));
      expect(error.location).toMatchObject({ key: `targets.prod.${field}`, line: 5 });
      expect(error.hint).toContain('${env:');
    }
    const partly = failure(() => configFrom('name: shop\ntargets:\n  prod:\n    type: postgres\n    password: pre-${env:PW}\n'));
    expect(partly.error.location?.key).toBe('targets.prod.password');
    expect(configFrom('name: shop\ntargets:\n  prod:\n    type: postgres\n    password: ${env:PW}\n').targets.prod.password).toBe('${env:PW}');
  });

  it('requires a name and rejects an undefined default target', () => {
    const noName = failure(() => configFrom('schema: analytics\n'));
    expect(noName.error.message).toBe('missing required key "name"');

    const { error } = failure(() => configFrom('name: shop\ntarget: prod\ntargets:\n  dev:\n    type: duckdb\n  ci:\n    type: duckdb\n'));
    expect(error.message).toBe('default target "prod" is not defined under targets');
    expect(error.location).toMatchObject({ key: 'target', line: 2, column: 9 });
    expect(error.hint).toBe('defined targets: dev, ci');
  });

  // Bug: an empty (or comments-only) cdp.config.yaml loads with `name` undefined. The YAML
  // document is null, YamlValidator.check returns early on null, and the required-key check
  // for `name` never runs; `cdp debug` then prints "project: undefined".
  it('rejects an empty config file because `name` is required', () => {
    const { error } = failure(() => configFrom('# settings come later\n'));
    expect(error.message).toBe('missing required key "name"');
  });

  it('reports YAML syntax errors with line and column', () => {
    const { error } = failure(() => configFrom('name: shop\ntargets:\n  dev:\n    type: duckdb\n   threads: [\n'));
    expect(error.message).toMatch(/^invalid YAML: /);
    expect(error.location).toMatchObject({ line: 5 });
    expect(error.location?.column).toBeGreaterThan(0);
  });

  it('explains how to create a project when there is no config file', () => {
    const dir = makeProject({});
    dirs.push(dir);
    const { error } = failure(() => loadConfig(dir));
    expect(error.message).toBe(`no cdp.config.yaml in ${dir}`);
    expect(error.hint).toContain('cdp init');
  });
});

describe('resolveTarget', () => {
  const yaml =
    'name: shop\ntargets:\n  dev:\n    type: duckdb\n  prod:\n    type: postgres\n    host: db-${env:CDP_CFG_REGION}.internal\n    port: 5432\n    user: loader\n    password: ${env:CDP_CFG_PW}\n    database: analytics\n';

  it('resolves ${env:...} references, keeps them in `display`, and redacts resolved secrets', () => {
    const config = configFrom(yaml);
    const secret = 'Pw-resolve-7f3a9c';
    const target = resolveTarget(config, 'prod', { env: { CDP_CFG_PW: secret, CDP_CFG_REGION: 'eu' } });
    expect(target.settings).toEqual({ type: 'postgres', host: 'db-eu.internal', port: 5432, user: 'loader', password: secret, database: 'analytics' });
    expect(target.display.password).toBe('${env:CDP_CFG_PW}');
    expect(target.display.host).toBe('db-${env:CDP_CFG_REGION}.internal');
    expect(redact(`password authentication failed for "${secret}" (again: ${secret})`)).toBe('password authentication failed for "***" (again: ***)');
    // Values this short would blank out ordinary words, so they are not treated as secrets.
    expect(redact('connecting to db-eu.internal')).toBe('connecting to db-eu.internal');
  });

  it('does not need environment variables with {secrets: false}', () => {
    const config = configFrom(yaml);
    const target = resolveTarget(config, 'prod', { secrets: false, env: {} });
    expect(target.settings.password).toBe('${env:CDP_CFG_PW}');
    expect(target.settings.host).toBe('db-${env:CDP_CFG_REGION}.internal');
    expect(target).toMatchObject({ name: 'prod', type: 'postgres', schema: 'analytics', threads: 4 });
  });

  it('reports a missing environment variable at the key that references it', () => {
    const config = configFrom(yaml);
    const { error, text } = failure(() => resolveTarget(config, 'prod', { env: { CDP_CFG_REGION: 'eu' } }));
    expect(error.message).toBe('environment variable CDP_CFG_PW is not set');
    expect(error.location).toMatchObject({ key: 'targets.prod.password', line: 10, column: 15 });
    expect(text).toMatch(/cdp\.config\.yaml:10:15: environment variable CDP_CFG_PW is not set/);
    expect(error.hint).toBe('export CDP_CFG_PW=... before running cdp');
  });

  it('only resolves the chosen target', () => {
    const config = configFrom(yaml);
    expect(resolveTarget(config, 'dev', { env: {} }).type).toBe('duckdb');
  });

  it('names the defined targets when asked for an unknown one', () => {
    const config = configFrom(yaml);
    const { error } = failure(() => resolveTarget(config, 'staging'));
    expect(error.message).toBe('unknown target "staging"');
    expect(error.hint).toBe('defined targets: dev, prod');
    expect(error.location?.file).toMatch(/cdp\.config\.yaml$/);
  });
});

describe('parseProperties', () => {
  const file = 'models/schema.yml';

  it('reads models, columns, tests, seeds and sources with their locations', () => {
    const props = parseProperties(
      [
        'models:',
        '  - name: orders',
        '    description: One row per order.',
        '    tags: finance',
        '    config: { materialized: table, unique_key: [order_id, line] }',
        '    columns:',
        '      - name: order_id',
        '        data_type: bigint',
        '        tests: [unique, not_null]',
        '    tests:',
        '      - expression: "amount >= 0"',
        'seeds:',
        '  - name: raw_orders',
        '    config: { column_types: { amount: double } }',
        'sources:',
        '  - name: shop',
        '    tables:',
        '      - name: orders',
        '      - name: customers',
        '        identifier: tbl_customers',
        '        columns:',
        '          - name: id',
        '            tests: [not_null]',
        '',
      ].join('\n'),
      file,
    );
    const [orders, rawOrders] = props.resources;
    expect(orders).toMatchObject({ kind: 'model', name: 'orders', description: 'One row per order.', tags: ['finance'], config: { materialized: 'table', unique_key: ['order_id', 'line'] } });
    expect(orders.columns).toEqual([{ name: 'order_id', description: undefined, dataType: 'bigint' }]);
    expect(orders.location).toMatchObject({ file, line: 2, column: 5, key: 'models.0' });
    expect(orders.tests.map((t) => [t.raw, t.column, t.location.line, t.location.column])).toEqual([
      [{ expression: 'amount >= 0' }, undefined, 11, 9],
      ['unique', 'order_id', 9, 17],
      ['not_null', 'order_id', 9, 25],
    ]);
    expect(rawOrders).toMatchObject({ kind: 'seed', name: 'raw_orders', config: { column_types: { amount: 'double' } } });
    expect(props.sources.map((s) => [s.sourceName, s.name, s.schema, s.identifier])).toEqual([
      ['shop', 'orders', 'shop', 'orders'],
      ['shop', 'customers', 'shop', 'tbl_customers'],
    ]);
    expect(props.sources[1].tests[0]).toMatchObject({ raw: 'not_null', column: 'id', location: { line: 23 } });
  });

  it.each([
    ['a model', 'models:\n  - name: a\n    colums: []\n', 3, 5, 'models.0.colums', 'did you mean "columns"?'],
    ['a column', 'models:\n  - name: a\n    columns:\n      - name: id\n        test: [unique]\n', 5, 9, 'models.0.columns.0.test', 'did you mean "tests"?'],
    ['a model config', 'models:\n  - name: a\n    config:\n      materialised: table\n', 4, 7, 'models.0.config.materialised', 'did you mean "materialized"?'],
    ['a seed config', 'seeds:\n  - name: s\n    config:\n      column_type: {}\n', 4, 7, 'seeds.0.config.column_type', 'did you mean "column_types"?'],
    ['a source', 'sources:\n  - name: raw\n    shema: landing\n    tables: []\n', 3, 5, 'sources.0.shema', 'did you mean "schema"?'],
    ['a source table', 'sources:\n  - name: raw\n    tables:\n      - name: t\n        identifer: x\n', 5, 9, 'sources.0.tables.0.identifer', 'did you mean "identifier"?'],
    ['the top level', 'model:\n  - name: a\n', 1, 1, 'model', 'did you mean "models"?'],
  ])('reports an unknown key in %s with line, column and key path', (_where, yaml, line, column, key, hint) => {
    const { error, text } = failure(() => parseProperties(yaml, file));
    expect(error.location).toMatchObject({ file, line, column, key });
    expect(error.hint).toBe(hint);
    expect(text).toContain(`${file}:${line}:${column}: unknown key`);
  });

  it('reports several problems together', () => {
    const { all } = failure(() => parseProperties('models:\n  - name: a\n  - name: b\n    descripton: x\n    colums: []\n', file));
    expect(all.map((e) => [e.location?.key, e.location?.line])).toEqual([
      ['models.1.descripton', 4],
      ['models.1.colums', 5],
    ]);
  });

  it('checks enums, required keys and identifiers', () => {
    const strategy = failure(() => parseProperties('models:\n  - name: a\n    config:\n      incremental_strategy: merg\n', file));
    expect(strategy.error.message).toBe('unknown value "merg"');
    expect(strategy.error.hint).toBe('did you mean "merge"? expected one of: merge, append');
    expect(strategy.error.location).toMatchObject({ line: 4, column: 29 });

    const noTables = failure(() => parseProperties('sources:\n  - name: raw\n', file));
    expect(noTables.error.message).toBe('missing required key "tables"');
    expect(noTables.error.location?.key).toBe('sources.0.tables');

    const badName = failure(() => parseProperties('models:\n  - name: my-model\n', file));
    expect(badName.error.message).toBe('invalid value "my-model"');

    const badTest = failure(() => parseProperties('models:\n  - name: a\n    tests: [[unique]]\n', file));
    expect(badTest.error.message).toMatch(/^expected a test name/);
    expect(badTest.error.location).toMatchObject({ key: 'models.0.tests.0', line: 3 });
  });
});
