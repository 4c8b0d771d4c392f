/**
 * End-to-end runs on real DuckDB and real PostgreSQL: what lands in the warehouse.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveTarget } from '../src/project/config.js';
import { runCommand, type RunOptions } from '../src/runner/run.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Row, Warehouse } from '../src/warehouse/types.js';
import { configYaml, duckdbTarget, makeProject, postgresTarget, removeProject, writeFiles, type TargetFixture } from './helpers/project.js';

const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

async function run(dir: string, command: RunOptions['command'], extra: Partial<RunOptions> = {}) {
  return runCommand({ command, projectDir: dir, out: quiet, ...extra });
}

async function query<T extends Row = Row>(dir: string, sql: string): Promise<T[]> {
  const target = resolveTarget(loadConfig(dir), undefined);
  const wh: Warehouse = await openWarehouse(target.settings as TargetConfig);
  try {
    return await wh.query<T>(sql);
  } finally {
    await wh.close();
  }
}

describe.each([duckdbTarget(), postgresTarget()])('runs on $name', (target: TargetFixture) => {
  let dir: string;
  beforeAll(async () => {
    await target.setup();
  });
  afterAll(async () => {
    if (dir) removeProject(dir);
    await target.teardown();
  });

  it('builds seeds, views and tables in DAG order and records results', async () => {
    dir = makeProject({
      'cdp.config.yaml': configYaml(target),
      'seeds/raw_people.csv': 'id,email,joined_on,score,active\n1, Ada@X.com ,2026-01-02,1.5,true\n2,bob@y.org,2026-02-03,,false\n3,,2026-03-04,7,true\n',
      'seeds/raw_people.yml': 'seeds:\n  - name: raw_people\n    config:\n      column_types: { score: double }\n',
      'models/staging/stg_people.sql': 'select id, lower(trim(email)) as email, joined_on, score, active from {{ref "raw_people"}}',
      'models/marts/people_summary.sql': '{{config materialized="table"}}\nselect count(*) as people, count(email) as with_email, sum(score) as total_score from {{ref "stg_people"}}',
      'models/schema.yml': 'models:\n  - name: stg_people\n    columns:\n      - name: id\n        tests: [unique, not_null]\n',
    });
    const outcome = await run(dir, 'build');
    expect(outcome.exitCode).toBe(0);
    expect(outcome.summary.results.map((r) => r.status).sort()).toEqual(['pass', 'pass', 'success', 'success', 'success']);

    const people = await query(dir, 'select id, email, joined_on, score, active from analytics.stg_people order by id');
    expect(people).toEqual([
      { id: 1, email: 'ada@x.com', joined_on: '2026-01-02', score: 1.5, active: true },
      { id: 2, email: 'bob@y.org', joined_on: '2026-02-03', score: null, active: false },
      { id: 3, email: null, joined_on: '2026-03-04', score: 7, active: true },
    ]);
    expect(await query(dir, 'select people, with_email, total_score from analytics.people_summary')).toEqual([{ people: 3, with_email: 2, total_score: 8.5 }]);

    const results = JSON.parse(readFileSync(path.join(dir, 'target/run_results.json'), 'utf8'));
    expect(results.schema_version).toBe('cdp/run-results/v1');
    expect(results.results).toHaveLength(5);
    const history = await query<{ node_id: string; status: string }>(dir, `select node_id, status from cdp_state.run_history where run_id = '${results.run_id}' order by node_id`);
    expect(history.map((h) => h.node_id)).toEqual([
      'model.people_summary', 'model.stg_people', 'seed.raw_people', 'test.not_null_stg_people_id', 'test.unique_stg_people_id',
    ]);
  });

  it('keeps the old table when a rebuild fails, and re-creates dependent views on a swap', async () => {
    writeFiles(dir, { 'models/marts/people_view.sql': 'select people from {{ref "people_summary"}}' });
    expect((await run(dir, 'run')).exitCode).toBe(0);

    // Rebuild the table under a dependent view: the view must survive the swap.
    writeFiles(dir, { 'models/marts/people_summary.sql': '{{config materialized="table"}}\nselect 42 as people' });
    expect((await run(dir, 'run', { select: ['people_summary'] })).exitCode).toBe(0);
    expect(await query(dir, 'select people from analytics.people_view')).toEqual([{ people: 42 }]);

    // A failing build leaves the previous table intact and no staging table behind.
    writeFiles(dir, { 'models/marts/people_summary.sql': '{{config materialized="table"}}\nselect people from no_such_table' });
    const failed = await run(dir, 'run');
    expect(failed.exitCode).toBe(1);
    const byName = Object.fromEntries(failed.summary.results.map((r) => [r.name, r]));
    expect(byName.people_summary.status).toBe('error');
    expect(byName.people_summary.message).toMatch(/no_such_table/);
    expect(byName.people_summary.message).toContain('compiled SQL: ');
    expect(byName.people_view.status).toBe('skipped');
    expect(byName.stg_people.status).toBe('success');
    expect(await query(dir, 'select people from analytics.people_summary')).toEqual([{ people: 42 }]);
    const leftovers = await query(dir, "select table_name from information_schema.tables where table_name like '%__cdp_%'");
    expect(leftovers).toEqual([]);
  });

  it('merges incremental models on a NULL-safe composite key and fails loudly on duplicate keys', async () => {
    const model = (rows: string) =>
      `{{config materialized="incremental" unique_key="k1,k2"}}\nselect * from (values ${rows}) as v(k1, k2, val)`;
    writeFiles(dir, {
      'models/marts/people_summary.sql': '{{config materialized="table"}}\nselect 1 as people',
      'models/inc/events.sql': model(`(1, 'a', 'first'), (2, cast(null as varchar), 'null key')`),
      'models/inc/events.yml': 'models:\n  - name: events\n    config: { unique_key: [k1, k2] }\n',
    });
    expect((await run(dir, 'run', { select: ['events'] })).exitCode).toBe(0);
    writeFiles(dir, { 'models/inc/events.sql': model(`(2, cast(null as varchar), 'updated'), (3, 'c', 'new')`) });
    const second = await run(dir, 'run', { select: ['events'] });
    expect(second.summary.results[0].message).toBe('merge of 2 new or changed rows');
    expect(second.exitCode).toBe(0);
    expect(await query(dir, 'select k1, k2, val from analytics.events order by k1')).toEqual([
      { k1: 1, k2: 'a', val: 'first' },
      { k1: 2, k2: null, val: 'updated' },
      { k1: 3, k2: 'c', val: 'new' },
    ]);

    writeFiles(dir, { 'models/inc/events.sql': model(`(4, 'd', 'x'), (4, 'd', 'y')`) });
    const dup = await run(dir, 'run', { select: ['events'] });
    expect(dup.exitCode).toBe(1);
    expect(dup.summary.results[0].message).toContain('duplicate unique_key values: (4, "d") x2');
    expect(await query(dir, 'select count(*) as n from analytics.events')).toEqual([{ n: 3 }]);

    const full = await run(dir, 'run', { select: ['events'], fullRefresh: false });
    expect(full.exitCode).toBe(1);
    writeFiles(dir, { 'models/inc/events.sql': model(`(9, 'z', 'only')`) });
    expect((await run(dir, 'run', { select: ['events'], fullRefresh: true })).exitCode).toBe(0);
    expect(await query(dir, 'select k1, val from analytics.events')).toEqual([{ k1: 9, val: 'only' }]);
  });

  it('appends, uses is_incremental() and {{this}}, and guards schema changes', async () => {
    const model = `{{config materialized="incremental"}}
select * from (values (1, 'a'), (2, 'b'), (3, 'c')) as v(id, label)
{{#if is_incremental}}where id > (select max(id) from {{this}}){{else}}where id <= 2{{/if}}`;
    writeFiles(dir, { 'models/inc/log.sql': model });
    expect((await run(dir, 'run', { select: ['log'] })).exitCode).toBe(0);
    expect(await query(dir, 'select id from analytics.log order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect((await run(dir, 'run', { select: ['log'] })).exitCode).toBe(0);
    expect(await query(dir, 'select id from analytics.log order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    const compiled = readFileSync(path.join(dir, 'target/run/models/inc/log.sql'), 'utf8');
    expect(compiled).toContain('where id > (select max(id) from "analytics"."log")');

    writeFiles(dir, { 'models/inc/log.sql': `{{config materialized="incremental"}}\nselect 4 as id, 'd' as label, 'extra' as note` });
    const changed = await run(dir, 'run', { select: ['log'] });
    expect(changed.exitCode).toBe(1);
    expect(changed.summary.results[0].message).toContain('columns of "log" changed (added: note');
    writeFiles(dir, { 'models/inc/log.sql': `{{config materialized="incremental" on_schema_change="append_new_columns"}}\nselect 4 as id, 'd' as label, 'extra' as note` });
    expect((await run(dir, 'run', { select: ['log'] })).exitCode).toBe(0);
    expect(await query(dir, 'select id, note from analytics.log where id >= 3 order by id')).toEqual([{ id: 3, note: null }, { id: 4, note: 'extra' }]);
  });

  it('reports failing tests with samples, honours severity, and skips what depends on a failed test', async () => {
    writeFiles(dir, {
      'models/inc/events.yml': 'models:\n  - name: events\n    config: { unique_key: [k1, k2] }\n    columns:\n      - name: val\n        tests:\n          - accepted_values: { values: [first], severity: warn }\n          - not_null\n',
      'models/inc/after_events.sql': 'select * from {{ref "events"}}',
      'models/inc/never_empty.test.sql': 'select 1 as problem from {{ref "events"}} where k1 = 9',
    });
    const outcome = await run(dir, 'build', { select: ['events+'] });
    const byName = Object.fromEntries(outcome.summary.results.map((r) => [r.name, r]));
    expect(byName.accepted_values_events_val.status).toBe('warn');
    expect(byName.accepted_values_events_val.sample).toEqual([{ value: 'only', occurrences: 1 }]);
    expect(byName.not_null_events_val.status).toBe('pass');
    expect(byName.never_empty.status).toBe('fail');
    expect(byName.never_empty.failures).toBe(1);
    expect(byName.after_events.status).toBe('skipped');
    expect(outcome.exitCode).toBe(1);
    expect(existsSync(path.join(dir, 'target/run/models/inc/never_empty.test.sql'))).toBe(true);
  });
});
