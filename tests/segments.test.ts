/**
 * Segments on real DuckDB and PostgreSQL: every rule op and their nesting, includes and
 * excludes, relative windows, SQL segments, membership history and sizes across builds, and
 * bad specs that fail before anything runs (or, for run-time checks, before anything changes).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { CdpError, CdpErrors } from '../src/errors.js';
import { loadConfig, resolveTarget } from '../src/project/config.js';
import { runCommand, type RunOptions } from '../src/runner/run.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Row, Warehouse } from '../src/warehouse/types.js';
import { configYaml, duckdbTarget, makeProject, postgresTarget, removeProject, writeFiles, type TargetFixture } from './helpers/project.js';

// Timestamps must not depend on the machine's zone.
process.env.TZ = 'America/Los_Angeles';

const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

async function run(dir: string, command: RunOptions['command'], extra: Partial<RunOptions> = {}) {
  return runCommand({ command, projectDir: dir, out: quiet, ...extra });
}

async function withWarehouse<T>(dir: string, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const target = resolveTarget(loadConfig(dir), undefined);
  const wh = await openWarehouse(target.settings as TargetConfig);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

const query = <T extends Row = Row>(dir: string, sql: string) => withWarehouse(dir, (wh) => wh.query<T>(sql));

async function members(dir: string, segment: string): Promise<string[]> {
  const rows = await query<{ profile_id: string }>(dir, `select profile_id from analytics.${segment} order by profile_id`);
  return rows.map((r) => r.profile_id);
}

/**
 * Six profiles chosen so every op has members and non-members, with NULLs, boundaries
 * (exactly 30 days before as_of, 500 vs 499.99) and an order after as_of.
 */
const PEOPLE = [
  'profile_id,tier,ltv,orders,last_order_at,email,consent,country',
  'p1,gold,900,12,2026-06-20 10:00:00,a@x.com,true,DE',
  'p2,silver,150,2,2026-06-01 00:00:00,b@y.org,false,FR',
  'p3,,50,1,2025-10-01 00:00:00,,true,DE',
  'p4,bronze,0,0,,fxx@x.com,,US',
  'p5,gold,500,6,2026-05-31 00:00:00,e%_@x.com,true,',
  'p6,silver,499.99,3,2026-07-05 00:00:00,f.x@z.com,false,FR',
].join('\n') + '\n';

const SEED_TYPES = 'seeds:\n  - name: people\n    config:\n      column_types: { ltv: decimal, orders: integer, last_order_at: timestamp, consent: boolean }\n';

/** One segment file per case: name -> where (YAML) and the profiles it must hold. */
const RULE_CASES: Record<string, { where: string; expected: string[] }> = {
  op_eq: { where: '{ column: tier, op: "=", value: gold }', expected: ['p1', 'p5'] },
  op_ne: { where: '{ column: tier, op: "!=", value: gold }', expected: ['p2', 'p4', 'p6'] },
  op_gt: { where: '{ column: ltv, op: ">", value: 500 }', expected: ['p1'] },
  op_gte: { where: '{ column: ltv, op: ">=", value: 500 }', expected: ['p1', 'p5'] },
  op_lt: { where: '{ column: ltv, op: "<", value: 150 }', expected: ['p3', 'p4'] },
  op_lte: { where: '{ column: ltv, op: "<=", value: 150 }', expected: ['p2', 'p3', 'p4'] },
  op_bool: { where: '{ column: consent, op: "=", value: true }', expected: ['p1', 'p3', 'p5'] },
  op_in: { where: '{ column: country, op: in, value: [DE, FR] }', expected: ['p1', 'p2', 'p3', 'p6'] },
  op_not_in: { where: '{ column: country, op: not_in, value: [DE] }', expected: ['p2', 'p4', 'p6'] },
  op_is_null: { where: '{ column: email, op: is_null }', expected: ['p3'] },
  op_not_null: { where: '{ column: tier, op: not_null }', expected: ['p1', 'p2', 'p4', 'p5', 'p6'] },
  // LIKE and regex metacharacters must match literally.
  op_contains_like: { where: '{ column: email, op: contains, value: "%_" }', expected: ['p5'] },
  op_contains_regex: { where: '{ column: email, op: contains, value: "f.x" }', expected: ['p6'] },
  op_starts_with: { where: '{ column: email, op: starts_with, value: "e%" }', expected: ['p5'] },
  op_between: { where: '{ column: ltv, op: between, value: [150, 500] }', expected: ['p2', 'p5', 'p6'] },
  op_between_dates: { where: '{ column: last_order_at, op: between, value: ["2026-05-31", "2026-06-01"] }', expected: ['p2', 'p5'] },
  // [as_of - 30 days, as_of]: p5 sits exactly on the lower bound; p6 ordered after as_of.
  op_within_last: { where: '{ column: last_order_at, op: within_last, value: "30 days" }', expected: ['p1', 'p2', 'p5'] },
  op_within_last_hours: { where: '{ column: last_order_at, op: within_last, value: "240 hours" }', expected: ['p1'] },
  op_older_than: { where: '{ column: last_order_at, op: older_than, value: "6 months" }', expected: ['p3'] },
  nested: {
    where: `
  all:
    - { column: ltv, op: ">=", value: 100 }
    - any:
        - { column: last_order_at, op: within_last, value: "30 days" }
        - { column: orders, op: ">", value: 5 }
    - not: { column: email, op: is_null }`,
    expected: ['p1', 'p2', 'p5'],
  },
  // A NULL tier is "not gold": `not` keeps profiles whose leaf is NULL.
  not_keeps_nulls: { where: '\n  not: { column: tier, op: "=", value: gold }', expected: ['p2', 'p3', 'p4', 'p6'] },
  not_any: { where: '\n  not:\n    any:\n      - { column: country, op: "=", value: DE }\n      - { column: orders, op: "=", value: 0 }', expected: ['p2', 'p5', 'p6'] },
  list_is_all: { where: '\n  - { column: tier, op: "=", value: silver }\n  - { column: consent, op: "=", value: false }\n  - { column: ltv, op: "<", value: 200 }', expected: ['p2'] },
};

function ruleFile(name: string, where: string, extra = ''): string {
  return `name: ${name}\nfrom: people_model\nas_of: var:as_of\nwhere: ${where}\n${extra}`;
}

function baseFiles(target: TargetFixture): Record<string, string> {
  const files: Record<string, string> = {
    'cdp.config.yaml': configYaml(target, 'vars:\n  as_of: "2026-06-30"\n'),
    'seeds/people.csv': PEOPLE,
    'seeds/people.yml': SEED_TYPES,
    'models/people_model.sql': '{{config materialized="table"}}\nselect * from {{ref "people"}}',
    'models/segments/buyers.segment.yml': 'from: people_model\nwhere: { column: orders, op: ">", value: 0 }\nfields: [email]\n',
    'models/segments/big_spenders.segment.yml': 'from: people_model\nwhere: { column: ltv, op: ">=", value: 500 }\n',
    'models/segments/multi_order.sql': '{{config materialized="segment"}}\nselect profile_id, email from {{ref "people_model"}} where orders >= 3',
    'models/segments/inc_exc.segment.yml': 'from: people_model\ninclude: [buyers]\nexclude: [big_spenders]\nfields: [tier]\n',
    'models/segments/inc_sql.segment.yml': 'from: people_model\ninclude: [multi_order, buyers]\nwhere: { column: consent, op: "=", value: false }\nfields: [profile_id, email]\n',
    'models/segments/literal_as_of.segment.yml': 'from: people_model\nas_of: "2026-06-10"\nwhere: { column: last_order_at, op: within_last, value: "30 days" }\n',
    'models/segments/history_seg.segment.yml': ruleFile('history_seg', '{ column: last_order_at, op: within_last, value: "30 days" }'),
  };
  for (const [name, c] of Object.entries(RULE_CASES)) files[`models/segments/${name}.segment.yml`] = ruleFile(name, c.where);
  return files;
}

describe.each([duckdbTarget(), postgresTarget()])('segments on $name', (target: TargetFixture) => {
  let dir: string;
  const runIds: string[] = [];

  beforeAll(async () => {
    await target.setup();
    dir = makeProject(baseFiles(target));
    const outcome = await run(dir, 'build');
    expect(outcome.summary.results.filter((r) => r.status !== 'success').map((r) => `${r.name}: ${r.message}`)).toEqual([]);
    expect(outcome.exitCode).toBe(0);
    runIds.push(outcome.summary.runId);
  }, 120_000);

  afterAll(async () => {
    if (dir) removeProject(dir);
    await target.teardown();
  });

  it('compiles every op and nesting to SQL that selects the right profiles', async () => {
    const actual: Record<string, string[]> = {};
    await withWarehouse(dir, async (wh) => {
      for (const name of Object.keys(RULE_CASES)) {
        actual[name] = (await wh.query<{ profile_id: string }>(`select profile_id from analytics.${name} order by profile_id`)).map((r) => r.profile_id);
      }
    });
    expect(actual).toEqual(Object.fromEntries(Object.entries(RULE_CASES).map(([k, c]) => [k, c.expected])));
  });

  it('includes and excludes other segments, rule and SQL alike', async () => {
    expect(await members(dir, 'buyers')).toEqual(['p1', 'p2', 'p3', 'p5', 'p6']);
    expect(await members(dir, 'big_spenders')).toEqual(['p1', 'p5']);
    expect(await members(dir, 'multi_order')).toEqual(['p1', 'p5', 'p6']);
    expect(await members(dir, 'inc_exc')).toEqual(['p2', 'p3', 'p6']);
    expect(await members(dir, 'inc_sql')).toEqual(['p6']);
  });

  it('carries the listed fields, or every column of `from`', async () => {
    const cols = (name: string) => withWarehouse(dir, async (wh) => (await wh.columns({ schema: 'analytics', name })).map((c) => c.name));
    expect(await cols('buyers')).toEqual(['profile_id', 'email']);
    expect(await cols('inc_sql')).toEqual(['profile_id', 'email']);
    expect(await cols('big_spenders')).toEqual(['profile_id', 'tier', 'ltv', 'orders', 'last_order_at', 'email', 'consent', 'country']);
    expect(await query(dir, `select profile_id, tier from analytics.inc_exc order by profile_id`)).toEqual([
      { profile_id: 'p2', tier: 'silver' }, { profile_id: 'p3', tier: null }, { profile_id: 'p6', tier: 'silver' },
    ]);
  });

  it('counts windows back from a literal as_of, a var, and a --vars override', async () => {
    expect(await members(dir, 'literal_as_of')).toEqual(['p2', 'p5']);
    expect(await members(dir, 'op_within_last')).toEqual(['p1', 'p2', 'p5']);
    const outcome = await run(dir, 'run', { select: ['op_within_last'], vars: { as_of: '2026-07-06 00:00:00' } });
    expect(outcome.exitCode).toBe(0);
    expect(await members(dir, 'op_within_last')).toEqual(['p1', 'p6']);
    await run(dir, 'run', { select: ['op_within_last'] });
    expect(await members(dir, 'op_within_last')).toEqual(['p1', 'p2', 'p5']);
  });

  it('reports members, entries and exits of a build', async () => {
    const outcome = await run(dir, 'run', { select: ['history_seg', 'inc_exc'], vars: { as_of: '2026-06-30' } });
    const byName = Object.fromEntries(outcome.summary.results.map((r) => [r.name, r]));
    expect(byName.history_seg).toMatchObject({ status: 'success', rows: 3, message: '3 members (+0 / -0)', details: { members: 3, entered: 0, exited: 0 } });
    expect(byName.inc_exc).toMatchObject({ rows: 3, message: '3 members (+0 / -0)' });
    runIds.push(outcome.summary.runId);
  });

  it('keeps membership history across builds: enter, exit, re-enter', async () => {
    // Build 2: as of June 10, p1 (ordered June 20) is outside the window.
    const second = await run(dir, 'run', { select: ['history_seg'], vars: { as_of: '2026-06-10' } });
    expect(second.summary.results[0]).toMatchObject({ status: 'success', message: '2 members (+0 / -1)', details: { members: 2, entered: 0, exited: 1 } });
    runIds.push(second.summary.runId);
    expect(await members(dir, 'history_seg')).toEqual(['p2', 'p5']);
    // Build 3: back to June 30, p1 returns.
    const third = await run(dir, 'run', { select: ['history_seg'], vars: { as_of: '2026-06-30' } });
    expect(third.summary.results[0]).toMatchObject({ message: '3 members (+1 / -0)', details: { members: 3, entered: 1, exited: 0 } });
    runIds.push(third.summary.runId);

    const history = await query<{ profile_id: string; entered_at: Date; exited_at: Date | null }>(
      dir, `select profile_id, entered_at, exited_at from cdp_state.segment_membership_history where segment = 'history_seg' order by profile_id, entered_at`,
    );
    expect(history.map((h) => [h.profile_id, h.exited_at === null ? 'open' : 'closed'])).toEqual([
      ['p1', 'closed'], ['p1', 'open'], ['p2', 'open'], ['p5', 'open'],
    ]);
    const [p1a, p1b, p2] = history;
    expect(p1a.entered_at).toBeInstanceOf(Date);
    expect(p1a.exited_at!.getTime()).toBeGreaterThan(p1a.entered_at.getTime());
    expect(p1b.entered_at.getTime()).toBeGreaterThan(p1a.exited_at!.getTime());
    expect(p2.entered_at.getTime()).toBe(p1a.entered_at.getTime());

    const sizes = await query<{ run_id: string; members: number; entered: number; exited: number; built_at: Date }>(
      dir, `select run_id, members, entered, exited, built_at from cdp_state.segment_sizes where segment = 'history_seg' order by built_at`,
    );
    expect(sizes.map(({ run_id, members: m, entered, exited }) => ({ run_id, members: m, entered, exited }))).toEqual([
      { run_id: runIds[0], members: 3, entered: 3, exited: 0 },
      { run_id: runIds[1], members: 3, entered: 0, exited: 0 },
      { run_id: runIds[2], members: 2, entered: 0, exited: 1 },
      { run_id: runIds[3], members: 3, entered: 1, exited: 0 },
    ]);
    // The entry and exit instants are the build's own.
    expect(p1a.exited_at!.getTime()).toBe(sizes[2].built_at.getTime());
    expect(p1b.entered_at.getTime()).toBe(sizes[3].built_at.getTime());
    // SQL segments keep history too.
    expect(await query(dir, `select count(*) as n from cdp_state.segment_membership_history where segment = 'multi_order' and exited_at is null`)).toEqual([{ n: 3 }]);
  });

  it('refuses a select without profile_id, or with NULL or repeated ids, and changes nothing', async () => {
    const before = async () => ({
      table: await members(dir, 'multi_order'),
      history: await query(dir, `select profile_id, entered_at, exited_at from cdp_state.segment_membership_history where segment = 'multi_order' order by profile_id`),
      sizes: await query(dir, `select count(*) as n from cdp_state.segment_sizes where segment = 'multi_order'`),
    });
    const snapshot = await before();
    const attempt = async (sql: string) => {
      writeFiles(dir, { 'models/segments/multi_order.sql': `{{config materialized="segment"}}\n${sql}` });
      const outcome = await run(dir, 'run', { select: ['multi_order'] });
      expect(outcome.exitCode).toBe(1);
      expect(await before()).toEqual(snapshot);
      const staging = await withWarehouse(dir, (wh) => wh.relations('analytics'));
      expect(staging.map((r) => r.name).filter((n) => n.includes('__cdp_'))).toEqual([]);
      return outcome.summary.results[0].message;
    };
    expect(await attempt('select email from {{ref "people_model"}}')).toMatch(/^the select of segment multi_order returns no profile_id column/);
    expect(await attempt('select profile_id as id from {{ref "people_model"}}')).toContain('its columns are: id');
    expect(await attempt('select case when orders > 3 then profile_id end as profile_id from {{ref "people_model"}}')).toMatch(/returns 4 rows with a NULL profile_id/);
    expect(await attempt('select profile_id from {{ref "people_model"}} union all select profile_id from {{ref "people_model"}} where orders > 5'))
      .toMatch(/returns 2 repeated profile_id values, e\.g\. p1 \(2x\), p5 \(2x\)/);
    writeFiles(dir, { 'models/segments/multi_order.sql': '{{config materialized="segment"}}\nselect profile_id, email from {{ref "people_model"}} where orders >= 3' });
  });

  it('checks columns of a model it cannot see at compile time before building, naming file and line', async () => {
    writeFiles(dir, { 'models/segments/op_gt.segment.yml': ruleFile('op_gt', '{ column: ltvv, op: ">", value: 500 }') });
    const outcome = await run(dir, 'run', { select: ['op_gt'] });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.summary.results[0].message).toBe('models/segments/op_gt.segment.yml:4:18: column "ltvv" is not in people_model (key `where.column`) (hint: did you mean "ltv"?)');
    expect(await members(dir, 'op_gt')).toEqual(['p1']);
    writeFiles(dir, { 'models/segments/op_gt.segment.yml': ruleFile('op_gt', RULE_CASES.op_gt.where) });
  });

  it('rolls back history and the swap together when recording the size fails', async () => {
    const state = async () => ({
      table: await members(dir, 'history_seg'),
      history: await query(dir, `select profile_id, entered_at, exited_at from cdp_state.segment_membership_history where segment = 'history_seg' order by profile_id, entered_at`),
    });
    const snapshot = await state();
    // A view in place of the sizes table makes the last statement of the transaction fail.
    await withWarehouse(dir, async (wh) => {
      await wh.execute('alter table cdp_state.segment_sizes rename to segment_sizes_kept');
      await wh.execute(`create view cdp_state.segment_sizes as select 'x' as segment, 'r' as run_id, cast(null as timestamp) as built_at, 0 as members, 0 as entered, 0 as exited`);
    });
    try {
      const outcome = await run(dir, 'run', { select: ['history_seg'], vars: { as_of: '2026-06-10' } });
      expect(outcome.exitCode).toBe(1);
      expect(await state()).toEqual(snapshot);
    } finally {
      await withWarehouse(dir, async (wh) => {
        await wh.execute('drop view cdp_state.segment_sizes');
        await wh.execute('alter table cdp_state.segment_sizes_kept rename to segment_sizes');
      });
    }
    expect((await run(dir, 'run', { select: ['history_seg'], vars: { as_of: '2026-06-10' } })).summary.results[0].message).toBe('2 members (+0 / -1)');
  });
});

describe('segment specs that fail to compile', () => {
  const BASE = {
    'cdp.config.yaml': 'name: t\nvars:\n  as_of: "2026-06-30"\n  bad_date: soon\n',
    'seeds/contacts.csv': 'id,email,cid,updated_at\n1,a@acme.io,A,2026-01-01 00:00:00\n',
    'models/identity/person.identity.yml': 'entity: person\nid_types:\n  email: { normalize: email }\nsources:\n  - from: contacts\n    key: id\n    ids: { email: email }\n    updated_at: updated_at\n',
    'models/identity/person.golden.yml': 'name: person_golden\nentity: person\nprovenance: true\nattributes:\n  email: { rule: most_recent, from: { contacts: email } }\ntraits:\n  contact_count: { from: contacts, agg: count }\n',
    'models/active.sql': '{{config materialized="segment"}}\nselect profile_id from {{ref "person_golden"}}',
    'models/plain.sql': 'select 1 as profile_id',
  };
  let dirs: string[] = [];
  afterEach(() => {
    dirs.forEach(removeProject);
    dirs = [];
  });

  async function compile(spec: string) {
    const dir = makeProject({ ...BASE, 'models/segments/seg.segment.yml': spec });
    dirs.push(dir);
    return compileProject({ projectDir: dir });
  }

  async function errorsFor(spec: string): Promise<CdpError[]> {
    const err = await compile(spec).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CdpError);
    return err instanceof CdpErrors ? err.errors : [err as CdpError];
  }

  const FILE = 'models/segments/seg.segment.yml';

  it('compiles a valid spec on a golden record, depending on its from and included segments', async () => {
    const c = await compile('name: seg\nfrom: person_golden\nwhere: { column: contact_count, op: ">", value: 0 }\ninclude: [active]\nfields: [email, email__source]\n');
    const node = c.graph.get('model.seg');
    expect(node.dependsOn.sort()).toEqual(['model.active', 'model.person_golden']);
    expect(node.config.materialized).toBe('segment');
    expect(node.compiledSql).toBe(
      'SELECT "f"."profile_id", "f"."email", "f"."email__source"\nFROM "analytics"."person_golden" AS "f"\n' +
      'WHERE ("f"."contact_count" > 0)\n  AND EXISTS (SELECT 1 FROM "analytics"."active" AS "inc1" WHERE "inc1"."profile_id" = "f"."profile_id")\n',
    );
  });

  it('uses the current time when as_of is left out', async () => {
    const w = await compile('from: person_golden\nwhere: { column: email, op: within_last, value: "2 weeks" }\n');
    expect(w.graph.get('model.seg').compiledSql).toContain(`(now() AT TIME ZONE 'UTC') - INTERVAL '2 week'`);
  });

  it('quotes string values so they cannot break out of the literal', async () => {
    const c = await compile(`from: person_golden\nwhere: { column: email, op: in, value: ["o'brien@x.com", "x'); drop table t; --"] }\n`);
    expect(c.graph.get('model.seg').compiledSql).toContain(`IN ('o''brien@x.com', 'x''); drop table t; --')`);
  });

  it('names an unknown op with the nearest one', async () => {
    const [err] = await errorsFor('from: person_golden\nwhere:\n  all:\n    - { column: email, op: not_nul }\n');
    expect(err.message).toBe('unknown op "not_nul"');
    expect(err.location).toMatchObject({ file: FILE, line: 4, key: 'where.all.0.op' });
    expect(err.hint).toContain('did you mean "not_null"?');
    const [alias] = await errorsFor('from: person_golden\nwhere: { column: contact_count, op: gte, value: 1 }\n');
    expect(alias.hint).toContain('did you mean ">="?');
  });

  it('names an unknown column of a golden record at compile time', async () => {
    const errors = await errorsFor('from: person_golden\nwhere:\n  any:\n    - { column: emial, op: not_null }\n    - { column: contact_count, op: ">", value: 1 }\nfields: [email, phone]\n');
    expect(errors.map((e) => [e.message, e.location?.line, e.location?.key, e.hint])).toEqual([
      ['column "emial" is not in person_golden', 4, 'where.any.0.column', 'did you mean "email"?'],
      ['column "phone" is not in person_golden', 6, 'fields.1', 'columns: profile_id, email, email__source, contact_count'],
    ]);
  });

  it('names an unknown from, include and exclude', async () => {
    const errors = await errorsFor('from: person_goldn\ninclude: [activ]\nexclude: [plain]\n');
    expect(errors.map((e) => [e.message, e.location?.file, e.location?.line, e.hint])).toEqual([
      ['segment reads from unknown model "person_goldn"', FILE, 1, 'did you mean "person_golden"?'],
      ['includes unknown segment "activ"', FILE, 2, 'did you mean "active"?'],
      ['"plain" is not a segment', FILE, 3, 'segments: active'],
    ]);
  });

  it('names an unknown top-level key with the nearest one', async () => {
    const [err] = await errorsFor('from: person_golden\nincldue: [active]\n');
    expect([err.message, err.location?.line, err.hint]).toEqual(['unknown key "incldue"', 2, 'did you mean "include"?']);
  });

  it('rejects bad values, durations, as_of and keys with their lines', async () => {
    const rest = await errorsFor([
      'from: person_golden',
      'as_of: var:bad_date',
      'where:',
      '  all:',
      '    - { column: email, op: within_last, value: "30 dayz" }',
      '    - { column: email, op: in, value: a }',
      '    - { column: email, op: "=" }',
      '    - { column: email, op: is_null, value: 1 }',
      '    - { colum: email, op: is_null }',
      '    - { all: [], any: [] }',
      'include: [seg]',
    ].join('\n'));
    expect(rest.map((e) => [e.message, e.location?.line])).toEqual([
      ['op within_last needs a duration such as "30 days"', 5],
      ['op in needs a non-empty list of values', 6],
      ['op = needs a value', 7],
      ['op is_null takes no value', 8],
      ['unknown key "colum" in a condition', 9],
      ['"all" cannot be combined with "any" in one condition', 10],
      ['segment "seg" includes itself', 11],
    ]);
    const [asOf] = await errorsFor('from: person_golden\nas_of: var:bad_date\nwhere: { column: email, op: within_last, value: "1 day" }\n');
    expect([asOf.message, asOf.location?.line]).toEqual(['var "bad_date" is "soon", not a timestamp', 2]);
    const [missing] = await errorsFor('from: person_golden\nas_of: var:as_off\nwhere: { column: email, op: older_than, value: "1 day" }\n');
    expect([missing.message, missing.hint]).toEqual(['var "as_off" is not defined', `did you mean "as_of"? define it under vars: in cdp.config.yaml or pass --vars '{as_off: "2026-06-30"}'`]);
  });

  it('catches segments that include each other', async () => {
    const dir = makeProject({
      ...BASE,
      'models/segments/a.segment.yml': 'from: person_golden\ninclude: [b]\n',
      'models/segments/b.segment.yml': 'from: person_golden\nexclude: [a]\n',
    });
    dirs.push(dir);
    const err = await compileProject({ projectDir: dir }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CdpError);
    expect((err as CdpError).message).toMatch(/^dependency cycle: (a -> b -> a|b -> a -> b)$/);
  });

  it('refuses a segment named like another model', async () => {
    const [err] = await errorsFor('name: plain\nfrom: person_golden\n');
    expect(err.message).toBe('two resources are named "plain"');
  });
});
