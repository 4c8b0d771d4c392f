/**
 * The `cdp` command line as a user meets it: a real subprocess, its exit code, what it
 * prints on stdout and stderr, and what lands in the warehouse.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckDb, runCli, STACK_LINE, type CliResult } from './helpers/cli.js';
import { createPgDatabase, dropPgDatabase, makeProject, PG, removeProject, writeFiles } from './helpers/project.js';

const SECRET = 'SuperSecretValue123';
const SPAWN_TIMEOUT = 30_000;

/** Readable failure output: the whole CLI result, not just a mismatched number. */
function expectExit(result: CliResult, code: number): void {
  expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({ code });
}

const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = makeProject(files);
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) removeProject(dir);
});

const CUSTOMER_ORDERS = 'select customer_id::integer as customer_id, email, order_count::integer as order_count, lifetime_value::double as lifetime_value from analytics.customer_orders order by customer_id';
const EXPECTED_CUSTOMER_ORDERS = [
  { customer_id: 1, email: 'ada@example.com', order_count: 2, lifetime_value: 39.5 },
  { customer_id: 2, email: 'grace@example.com', order_count: 1, lifetime_value: 99.9 },
  { customer_id: 3, email: 'linus@example.com', order_count: 0, lifetime_value: 0 },
];

describe('cdp init, then build and inspect the new project on DuckDB', () => {
  let base: string;
  let built: string;
  let fresh: string;
  let initResult: CliResult;

  beforeAll(async () => {
    base = project({});
    built = path.join(base, 'shop-built');
    fresh = path.join(base, 'fresh');
    // One project through a relative DIR from its parent, one through --project-dir.
    [initResult] = await Promise.all([
      runCli(['init', 'shop-built'], { cwd: base }),
      runCli(['init', 'fresh', '--project-dir', base]),
    ]);
  }, SPAWN_TIMEOUT);

  it('scaffolds a project named after its directory and lists the files it created', () => {
    expectExit(initResult, 0);
    expect(initResult.stdout).toContain(`Created a new project in ${built}`);
    for (const file of ['cdp.config.yaml', 'models/marts/customer_orders.sql', 'models/schema.yml', 'seeds/raw_orders.csv']) {
      expect(initResult.stdout).toContain(file);
      expect(existsSync(path.join(built, file))).toBe(true);
      expect(existsSync(path.join(fresh, file))).toBe(true);
    }
    expect(readFileSync(path.join(built, 'cdp.config.yaml'), 'utf8')).toMatch(/^name: shop_built$/m);
  });

  it('refuses to init into a non-empty directory or an existing project, with exit 2', async () => {
    const occupied = project({ 'notes.txt': 'keep me\n' });
    const [nonEmpty, again] = await Promise.all([runCli(['init', occupied]), runCli(['init', built])]);
    expectExit(nonEmpty, 2);
    expect(nonEmpty.stderr).toContain(`${occupied} is not empty`);
    expect(nonEmpty.stderr).toMatch(/hint: .*empty directory/);
    expect(existsSync(path.join(occupied, 'cdp.config.yaml'))).toBe(false);
    expect(readFileSync(path.join(occupied, 'notes.txt'), 'utf8')).toBe('keep me\n');
    expectExit(again, 2);
    expect(again.stderr).toContain('already has a cdp.config.yaml');
    expect(nonEmpty.stderr + again.stderr).not.toMatch(STACK_LINE);
  }, SPAWN_TIMEOUT);

  it('builds the scaffolded project: exit 0 and customer_orders holds 3 rows', async () => {
    // --threads 1: with parallel seeds a fresh DuckDB file can fail with "Catalog write-write
    // conflict on create with analytics" (two seeds racing to create the schema); see the report.
    const result = await runCli(['build', '--project-dir', built, '--threads', '1']);
    expectExit(result, 0);
    expect(result.stdout).toContain('Running 10 nodes on dev (duckdb) with 1 thread');
    expect(result.stdout).toMatch(/Done in [\d.]+s: 5 ok, 5 passed/);
    expect(result.stderr).toBe('');
    const rows = await queryDuckDb(path.join(built, '.cdp', 'dev.duckdb'), CUSTOMER_ORDERS);
    expect(rows).toEqual(EXPECTED_CUSTOMER_ORDERS);
  }, SPAWN_TIMEOUT);

  it('gives the same tables with --threads 1 and --threads 4', async () => {
    const db = path.join(built, '.cdp', 'dev.duckdb');
    const snapshot = async () => ({
      customers: await queryDuckDb(db, 'select customer_id::integer as id, email, first_name from analytics.stg_customers order by 1'),
      orders: await queryDuckDb(db, 'select order_id::integer as id, customer_id::integer as customer_id, amount::double as amount from analytics.stg_orders order by 1'),
      customerOrders: await queryDuckDb(db, CUSTOMER_ORDERS),
    });
    const single = await snapshot();
    expect(single.customers).toHaveLength(3);

    const result = await runCli(['build', '--project-dir', built, '--threads', '4']);
    expectExit(result, 0);
    expect(result.stdout).toContain('with 4 threads');
    expect(await snapshot()).toEqual(single);
  }, SPAWN_TIMEOUT);

  it('run --json prints parseable run results on stdout and progress on stderr', async () => {
    const result = await runCli(['run', '--project-dir', built, '--json']);
    expectExit(result, 0);
    const json = JSON.parse(result.stdout);
    expect(json.schema_version).toBe('cdp/run-results/v1');
    expect(json.command).toBe('run');
    expect(json.counts).toEqual({ success: 3 });
    expect(json.results.map((r: { unique_id: string }) => r.unique_id).sort()).toEqual(['model.customer_orders', 'model.stg_customers', 'model.stg_orders']);
    expect(json.results.every((r: { status: string }) => r.status === 'success')).toBe(true);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/OK\s+model customer_orders/);
    expect(result.stdout).not.toMatch(/OK\s+model/);
  }, SPAWN_TIMEOUT);

  it('--vars overrides a project var for the run', async () => {
    const result = await runCli(['run', '--project-dir', built, '--vars', '{min_order_amount: 50}']);
    expectExit(result, 0);
    const rows = await queryDuckDb(path.join(built, '.cdp', 'dev.duckdb'), CUSTOMER_ORDERS);
    expect(rows.map((r) => [r.customer_id, r.order_count, r.lifetime_value])).toEqual([[1, 0, 0], [2, 1, 99.9], [3, 0, 0]]);
  }, SPAWN_TIMEOUT);

  it('debug checks the default DuckDB target, as text and as JSON', async () => {
    // One after the other: a DuckDB file admits one writing process at a time.
    const text = await runCli(['debug'], { cwd: built });
    const json = await runCli(['debug', '--json'], { cwd: built });
    expectExit(text, 0);
    expect(text.stdout).toMatch(/^target:\s+dev \(duckdb\), schema analytics, state schema cdp_state, 4 threads$/m);
    expect(text.stdout).toMatch(/^connection:   ok \(DuckDB /m);
    expectExit(json, 0);
    const info = JSON.parse(json.stdout);
    expect(info).toMatchObject({ project: 'shop_built', target: 'dev', schema: 'analytics', state_schema: 'cdp_state', threads: 4, secrets: {}, connection: { ok: true } });
    expect(info.target_settings).toEqual({ type: 'duckdb' });
  }, SPAWN_TIMEOUT);

  it('compile writes the manifest and compiled SQL and never opens the warehouse', async () => {
    const result = await runCli(['compile', '--project-dir', fresh]);
    expectExit(result, 0);
    expect(result.stdout).toMatch(/Compiled 3 models, 5 tests, 2 seeds, 0 sources in [\d.]+s -> .*target\/manifest\.json/);

    const manifest = JSON.parse(readFileSync(path.join(fresh, 'target', 'manifest.json'), 'utf8'));
    expect(manifest.schema_version).toBe('cdp/manifest/v2');
    expect(manifest.project).toBe('fresh');
    const node = manifest.nodes['model.customer_orders'];
    expect(node).toMatchObject({ resource_type: 'model', relation: { schema: 'analytics', name: 'customer_orders' }, compiled_path: 'compiled/models/marts/customer_orders.sql' });
    expect([...node.depends_on].sort()).toEqual(['model.stg_customers', 'model.stg_orders']);

    const sql = readFileSync(path.join(fresh, 'target', 'compiled', 'models', 'marts', 'customer_orders.sql'), 'utf8');
    expect(sql).toContain('from "analytics"."stg_customers" as c');
    expect(sql).not.toContain('{{');
    expect(existsSync(path.join(fresh, 'target', 'compiled', 'models', 'staging', 'stg_orders.sql'))).toBe(true);
    expect(existsSync(path.join(fresh, '.cdp'))).toBe(false);
  }, SPAWN_TIMEOUT);

  it('compile --json prints the manifest path and node counts', async () => {
    const result = await runCli(['compile', '--project-dir', fresh, '--json']);
    expectExit(result, 0);
    const json = JSON.parse(result.stdout);
    expect(json.counts).toEqual({ model: 3, test: 5, seed: 2 });
    expect(json.manifest).toBe(path.join(fresh, 'target', 'manifest.json'));
    expect(typeof json.seconds).toBe('number');
    expect(existsSync(path.join(fresh, '.cdp'))).toBe(false);
  }, SPAWN_TIMEOUT);

  describe('ls', () => {
    const ancestors = ['seed.raw_customers', 'seed.raw_orders', 'model.stg_customers', 'model.stg_orders', 'model.customer_orders'];
    const tests = [
      'test.expression_customer_orders_lifetime_value', 'test.not_null_stg_customers_customer_id', 'test.relationships_customer_orders_customer_id',
      'test.unique_customer_orders_customer_id', 'test.unique_stg_customers_customer_id',
    ];
    const lines = (r: CliResult) => r.stdout.split('\n').filter(Boolean);

    it('lists a model, its ancestors and their tests for +name', async () => {
      const result = await runCli(['ls', '--project-dir', fresh, '--select', '+customer_orders']);
      expectExit(result, 0);
      expect(lines(result).sort()).toEqual([...ancestors, ...tests].sort());
      expect(lines(result).indexOf('model.stg_orders')).toBeLessThan(lines(result).indexOf('model.customer_orders'));
    }, SPAWN_TIMEOUT);

    it('leaves out --exclude and filters by --resource-type', async () => {
      const [excluded, models] = await Promise.all([
        runCli(['ls', '--project-dir', fresh, '--select', '+customer_orders', '--exclude', 'stg_orders', 'tag:nope']),
        runCli(['ls', '--project-dir', fresh, '--select', 'stg_customers+', '--resource-type', 'model']),
      ]);
      expectExit(excluded, 0);
      expect(lines(excluded).sort()).toEqual([...ancestors.filter((id) => id !== 'model.stg_orders'), ...tests].sort());
      expectExit(models, 0);
      expect(lines(models)).toEqual(['model.stg_customers', 'model.customer_orders']);
    }, SPAWN_TIMEOUT);

    it('prints nothing and exits 0 when the selection matches nothing', async () => {
      const result = await runCli(['ls', '--project-dir', fresh, '--select', 'tag:nope']);
      expectExit(result, 0);
      expect(result.stdout).toBe('');
    }, SPAWN_TIMEOUT);

    it('--json prints parseable nodes with dependencies', async () => {
      const result = await runCli(['ls', '--project-dir', fresh, '--select', '+customer_orders', '--resource-type', 'model', '--json']);
      expectExit(result, 0);
      const nodes = JSON.parse(result.stdout) as { unique_id: string; resource_type: string; materialized: string; depends_on: string[]; path: string }[];
      expect(nodes.map((n) => n.unique_id).sort()).toEqual(['model.customer_orders', 'model.stg_customers', 'model.stg_orders']);
      const co = nodes.find((n) => n.unique_id === 'model.customer_orders')!;
      expect(co).toMatchObject({ resource_type: 'model', materialized: 'table', path: 'models/marts/customer_orders.sql' });
      expect([...co.depends_on].sort()).toEqual(['model.stg_customers', 'model.stg_orders']);
      expect(existsSync(path.join(fresh, '.cdp'))).toBe(false);
    }, SPAWN_TIMEOUT);
  });
});

describe.concurrent('bad input exits 2 with a located message and no stack trace', { timeout: SPAWN_TIMEOUT }, () => {
  const ok = { 'models/orders.sql': 'select 1 as id\n' };

  async function expectBadInput(result: CliResult, ...patterns: (string | RegExp)[]): Promise<void> {
    expectExit(result, 2);
    for (const p of patterns) {
      if (typeof p === 'string') expect(result.stderr).toContain(p);
      else expect(result.stderr).toMatch(p);
    }
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stdout).toBe('');
  }

  it('malformed YAML in cdp.config.yaml', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\ntargets:\n  dev:\n    type: duckdb\n   bad: [\n', ...ok });
    await expectBadInput(await runCli(['compile'], { cwd: dir }), /^error: cdp\.config\.yaml:5:\d+: invalid YAML/m, 'hint:');
  });

  it('unknown keys in the config, with key path, line:col and a suggestion', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\ntargets:\n  dev:\n    type: duckdb\n    threds: 3\nschema: analytics\nmodles: {}\n', ...ok });
    await expectBadInput(
      await runCli(['run'], { cwd: dir }),
      'error: cdp.config.yaml:5:5: unknown key "threds" (key `targets.dev.threds`)',
      'hint: did you mean "threads"?',
      'error: cdp.config.yaml:7:1: unknown key "modles" (key `modles`)',
      'hint: did you mean "models"?',
    );
    expect(existsSync(path.join(dir, '.cdp'))).toBe(false);
  });

  it('unknown target type, with a suggestion', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\ntargets:\n  dev:\n    type: duckdbb\n', ...ok });
    await expectBadInput(
      await runCli(['compile'], { cwd: dir }),
      'error: cdp.config.yaml:4:11: unknown type "duckdbb" (key `targets.dev.type`)',
      'did you mean "duckdb"?',
    );
  });

  it('an unknown --target name lists the defined targets', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\ntargets:\n  dev:\n    type: duckdb\n  ci:\n    type: duckdb\n', ...ok });
    await expectBadInput(await runCli(['compile', '--target', 'prod'], { cwd: dir }), 'unknown target "prod"', 'defined targets: dev, ci');
  });

  it('no cdp.config.yaml points at cdp init', async () => {
    const dir = project({ 'README.md': 'not a project\n' });
    await expectBadInput(await runCli(['compile', '--project-dir', dir]), `no cdp.config.yaml in ${dir}`, 'cdp init');
  });

  it('a ref to a missing model names file and line and suggests the nearest model', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\n', ...ok, 'models/b.sql': 'select *\nfrom {{ref "ordrs"}}\n' });
    await expectBadInput(await runCli(['compile'], { cwd: dir }), 'error: models/b.sql:2:6: ref to unknown model or seed "ordrs"', 'did you mean "orders"?');
    expect(existsSync(path.join(dir, 'target', 'manifest.json'))).toBe(false);
  });

  it('a dependency cycle prints the cycle path', async () => {
    const dir = project({
      'cdp.config.yaml': 'name: x\n',
      'models/a.sql': 'select * from {{ref "b"}}\n',
      'models/b.sql': 'select * from {{ref "a"}}\n',
    });
    await expectBadInput(await runCli(['compile'], { cwd: dir }), /dependency cycle: (a -> b -> a|b -> a -> b)/);
  });

  it('a template syntax error names file and line', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\n', ...ok, 'models/c.sql': 'select 1\n{{/if}}\nfrom x\n' });
    await expectBadInput(await runCli(['compile'], { cwd: dir }), /^error: models\/c\.sql:2: template syntax error/m);
  });

  it('an unknown --select method', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\n', ...ok });
    await expectBadInput(await runCli(['ls', '--project-dir', dir, '--select', 'foo:bar']), 'invalid selector "foo:bar": unknown selector method "foo"', 'hint: valid forms');
  });

  it('--threads 0 and a fractional --threads, before connecting', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\n', ...ok });
    const [zero, fraction] = await Promise.all([runCli(['run', '--project-dir', dir, '--threads', '0']), runCli(['build', '--project-dir', dir, '--threads', '1.5'])]);
    await expectBadInput(zero, '--threads must be a whole number of at least 1, not "0"');
    await expectBadInput(fraction, 'not "1.5"');
    expect(existsSync(path.join(dir, '.cdp'))).toBe(false);
  });

  it('--vars that is not YAML, or not a mapping', async () => {
    const dir = project({ 'cdp.config.yaml': 'name: x\n', ...ok });
    const [broken, list] = await Promise.all([runCli(['compile', '--project-dir', dir, '--vars', '{a: [']), runCli(['compile', '--project-dir', dir, '--vars', '[1, 2]'])]);
    await expectBadInput(broken, '--vars is not valid YAML or JSON', 'hint: e.g. --vars');
    await expectBadInput(list, '--vars must be a mapping');
  });

  it('unknown commands and options', async () => {
    const [command, option] = await Promise.all([runCli(['frobnicate']), runCli(['run', '--bogus'])]);
    expectExit(command, 2);
    expect(command.stderr).toContain("unknown command 'frobnicate'");
    expectExit(option, 2);
    expect(option.stderr).toContain("unknown option '--bogus'");
  });
});

describe.concurrent('internal errors', { timeout: SPAWN_TIMEOUT }, () => {
  it('print no stack by default and a stack under --debug', async () => {
    // A directory where the config file should be: an error we do not anticipate.
    const dir = project({ 'cdp.config.yaml/placeholder': '', 'models/a.sql': 'select 1\n' });
    const [plain, debug] = await Promise.all([runCli(['compile', '--project-dir', dir]), runCli(['compile', '--project-dir', dir, '--debug'])]);
    expectExit(plain, 1);
    expect(plain.stderr).toContain('error: EISDIR');
    expect(plain.stderr).toContain('(run again with --debug for a stack trace)');
    expect(plain.stderr).not.toMatch(STACK_LINE);
    expectExit(debug, 1);
    expect(debug.stderr).toContain('error: EISDIR');
    expect(debug.stderr).toMatch(STACK_LINE);
    expect(debug.stderr).toMatch(/^\s+at .*loadConfig/m);
  });
});

describe.concurrent('secrets', { timeout: SPAWN_TIMEOUT }, () => {
  const closedPort = (password = '${env:CDP_TEST_PW}') =>
    `name: x\ntarget: dev\ntargets:\n  dev:\n    type: duckdb\n  prod:\n    type: postgres\n    host: 127.0.0.1\n    port: 1\n    user: postgres\n    password: ${password}\n    database: analytics\n`;

  it('a failed connection names host:port and never prints the password', async () => {
    const dir = project({ 'cdp.config.yaml': closedPort(), 'models/one.sql': 'select 1 as id\n' });
    const env = { CDP_TEST_PW: SECRET };
    const results = await Promise.all([
      runCli(['debug', '--target', 'prod'], { cwd: dir, env }),
      runCli(['debug', '--target', 'prod', '--debug'], { cwd: dir, env }),
      runCli(['run', '--target', 'prod', '--json'], { cwd: dir, env }),
    ]);
    for (const result of results) {
      expectExit(result, 2);
      expect(result.stderr).toContain('127.0.0.1:1');
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    }
    expect(results[0].stderr).not.toMatch(STACK_LINE);
    expect(results[0].stderr).toMatch(/hint: .*127\.0\.0\.1:1/);
  });

  it('values resolved from ${env:...} are redacted from error messages', async () => {
    const config = closedPort().replace('host: 127.0.0.1', 'host: ${env:CDP_HOST_SECRET}');
    const dir = project({ 'cdp.config.yaml': config });
    const result = await runCli(['debug', '--target', 'prod'], { cwd: dir, env: { CDP_TEST_PW: SECRET, CDP_HOST_SECRET: '127.0.0.1' } });
    expectExit(result, 2);
    expect(result.stderr).toContain('***:1');
    expect(result.stderr).not.toContain('127.0.0.1');
  });

  it('a missing environment variable is reported with file:line and the variable name', async () => {
    const dir = project({ 'cdp.config.yaml': closedPort() });
    const result = await runCli(['debug', '--target', 'prod'], { cwd: dir, env: { CDP_TEST_PW: undefined } });
    expectExit(result, 2);
    expect(result.stderr).toContain('error: cdp.config.yaml:11:15: environment variable CDP_TEST_PW is not set (key `targets.prod.password`)');
    expect(result.stderr).toContain('export CDP_TEST_PW=');
    expect(result.stderr).not.toMatch(STACK_LINE);
  });

  it('compile needs no secrets: it never connects', async () => {
    const dir = project({ 'cdp.config.yaml': closedPort(), 'models/one.sql': 'select 1 as id\n' });
    const result = await runCli(['compile', '--target', 'prod'], { cwd: dir, env: { CDP_TEST_PW: undefined } });
    expectExit(result, 0);
    expect(JSON.parse(readFileSync(path.join(dir, 'target', 'manifest.json'), 'utf8')).target).toEqual({ name: 'prod', type: 'postgres', schema: 'analytics' });
  });

  it('a literal password is rejected with a hint about ${env:NAME}', async () => {
    const dir = project({ 'cdp.config.yaml': closedPort('hunter2hunter2') });
    const result = await runCli(['compile'], { cwd: dir });
    expectExit(result, 2);
    expect(result.stderr).toContain('cdp.config.yaml:11:15');
    expect(result.stderr).toContain('(key `targets.prod.password`)');
    expect(result.stderr).toMatch(/hint: .*\$\{env:[A-Z_]+\}/);
    expect(result.stderr).not.toMatch(STACK_LINE);
  });

  // Bug: the schema error for a secret field echoes the rejected value (`invalid value "<password>"`),
  // so the plain-text password the user just pasted ends up in terminal scrollback and CI logs.
  it('does not echo a rejected literal password', async () => {
    const dir = project({ 'cdp.config.yaml': closedPort('hunter2hunter2') });
    const result = await runCli(['compile'], { cwd: dir });
    expectExit(result, 2);
    expect(result.stderr).not.toContain('hunter2hunter2');
  });
});

describe('data tests and model failures', () => {
  let dir: string;
  const people = `select * from (values ${[1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8].map((id, i) => `(${id}, 'p${i}')`).join(', ')}) as t(id, label)\n`;
  const schema = (test: string) => `models:\n  - name: people\n    columns:\n      - name: id\n        tests:\n          - ${test}\n      - name: label\n        tests: [not_null]\n`;

  beforeAll(() => {
    dir = project({ 'cdp.config.yaml': 'name: x\n', 'models/people.sql': people, 'models/schema.yml': schema('unique') });
  });

  it('a failing test exits 1 and prints a few failing rows under column headers', async () => {
    const result = await runCli(['build', '--project-dir', dir, '--threads', '1']);
    expectExit(result, 1);
    expect(result.stdout).toMatch(/^FAIL test unique_people_id: 6 failing rows$/m);
    const block = result.stdout.slice(result.stdout.indexOf('FAIL test unique_people_id'));
    const table = block.split('\n').filter((l) => l.startsWith('  ') && !l.startsWith('  query:'));
    expect(table[0]).toMatch(/^\s+value \| occurrences$/);
    expect(table[1]).toMatch(/^\s+-+-\+-+$/);
    // A sample, not every failing row.
    expect(table.slice(2)).toHaveLength(5);
    expect(table[2]).toMatch(/^\s+\d\s+\| 2$/);
    expect(result.stdout).toMatch(/Done in [\d.]+s: 1 ok, 1 passed, 1 failed test/);
    expect(result.stderr).toBe('');
  }, SPAWN_TIMEOUT);

  it('a failing test with severity warn exits 0 and says WARN', async () => {
    writeFiles(dir, { 'models/schema.yml': schema('unique: {severity: warn}') });
    const result = await runCli(['test', '--project-dir', dir]);
    expectExit(result, 0);
    expect(result.stdout).toMatch(/WARN\s+test\s+unique_people_id: 6 failing rows/);
    expect(result.stdout).toMatch(/^\s+value \| occurrences$/m);
    expect(result.stdout).toMatch(/Done in [\d.]+s: 1 passed, 1 warned/);
  }, SPAWN_TIMEOUT);

  it('a model with bad SQL exits 1, names the model and skips its children', async () => {
    writeFiles(dir, {
      'models/broken.sql': 'select nope from no_such_table\n',
      'models/after_broken.sql': 'select * from {{ref "broken"}}\n',
    });
    const result = await runCli(['run', '--project-dir', dir]);
    expectExit(result, 1);
    expect(result.stdout).toMatch(/^ERROR model broken: .*no_such_table/m);
    expect(result.stdout).toMatch(/SKIP\s+model after_broken/);
    expect(result.stdout).toMatch(/Done in [\d.]+s: 1 ok, 1 error, 1 skipped/);
    expect(result.stdout + result.stderr).not.toMatch(STACK_LINE);
  }, SPAWN_TIMEOUT);
});

describe('PostgreSQL target', () => {
  let db = '';
  let dir: string;

  beforeAll(async () => {
    db = await createPgDatabase();
    dir = project({});
    const init = await runCli(['init', path.join(dir, 'p')]);
    expectExit(init, 0);
    dir = path.join(dir, 'p');
    const pgTarget = (extra = '') => `    type: postgres\n    host: ${PG.host}\n    port: ${PG.port}\n    user: ${PG.user}\n    database: ${db}\n${extra}`;
    writeFileSync(
      path.join(dir, 'cdp.config.yaml'),
      `name: p\ntarget: dev\ntargets:\n  dev:\n    type: duckdb\n  pg:\n${pgTarget()}  pgsecret:\n${pgTarget('    password: ${env:CDP_TEST_PW}\n')}schema: analytics\nvars:\n  min_order_amount: 0\n`,
    );
  }, SPAWN_TIMEOUT);

  afterAll(async () => {
    if (db) await dropPgDatabase(db);
  });

  it('build --target pg exits 0 and the table is in the database', async () => {
    // --threads 1 for the same schema-creation race as on DuckDB (here: duplicate key on pg_namespace).
    const result = await runCli(['build', '--project-dir', dir, '--target', 'pg', '--threads', '1']);
    expectExit(result, 0);
    expect(result.stdout).toContain('on pg (postgres)');
    const client = new pg.Client({ ...PG, database: db });
    await client.connect();
    try {
      const { rows } = await client.query('select customer_id::int as customer_id, email, order_count::int as order_count, lifetime_value::float8 as lifetime_value from analytics.customer_orders order by customer_id');
      expect(rows).toEqual(EXPECTED_CUSTOMER_ORDERS);
    } finally {
      await client.end();
    }
    expect(existsSync(path.join(dir, '.cdp'))).toBe(false);
  }, SPAWN_TIMEOUT);

  it('debug --json shows secret references as set, never their values', async () => {
    const env = { CDP_TEST_PW: SECRET };
    const [result, text] = await Promise.all([
      runCli(['debug', '--project-dir', dir, '--target', 'pgsecret', '--json'], { env }),
      runCli(['debug', '--project-dir', dir, '--target', 'pgsecret'], { env }),
    ]);
    expectExit(text, 0);
    expect(text.stdout).toContain('secret:       ${env:CDP_TEST_PW} is set');
    expect(text.stdout).toMatch(/^connection:   ok \(PostgreSQL/m);
    expect(text.stdout + text.stderr).not.toContain(SECRET);
    expectExit(result, 0);
    const info = JSON.parse(result.stdout);
    expect(info.secrets).toEqual({ CDP_TEST_PW: 'set' });
    expect(info.target_settings.password).toBe('${env:CDP_TEST_PW}');
    expect(info.connection.ok).toBe(true);
    expect(info.connection.version).toMatch(/PostgreSQL/);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, SPAWN_TIMEOUT);
});
