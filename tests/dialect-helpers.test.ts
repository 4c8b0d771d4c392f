/**
 * Cross-warehouse SQL in templates: the built-in dialect helpers and dispatch of the
 * project's own macros by target type. Runs the DuckDB output on DuckDB, compiles the others.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { CdpError, formatError } from '../src/errors.js';
import { makeProject, removeProject } from './helpers/project.js';
import { queryDuckDb, runCli } from './helpers/cli.js';

const CONFIG = `name: t
targets:
  dev: { type: duckdb }
  pg: { type: postgres, host: 127.0.0.1, user: postgres, database: postgres }
  bq: { type: bigquery, project: p, dataset: analytics }
  sf: { type: snowflake, account: a, user: u, database: D, schema: analytics, warehouse: W }
vars:
  days: 7
`;

const dirs: string[] = [];
const project = (files: Record<string, string>) => {
  const dir = makeProject({ 'cdp.config.yaml': CONFIG, ...files });
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach(removeProject));

const FILES = {
  'macros/helpers.js': `
export function squash(col) { return 'default:' + col; }
export function bigquery__squash(col) { return 'bigquery:' + col; }
export function snowflake__squash(col) { return 'snowflake:' + col; }
export function only_default() { return 'plain'; }
`,
  'macros/greeting.sql': `'hello'`,
  'macros/bigquery__greeting.sql': `'hello from bigquery'`,
  'models/m.sql': `select {{squash "x"}} as a, {{only_default}} as b, {{> greeting}} as c,
  {{regexp_replace "x" "[^0-9]" ""}} as d,
  {{timestamp_minus "ts" (var "days") "days"}} as e`,
};

async function compiled(target: string): Promise<string> {
  const c = await compileProject({ projectDir: project(FILES), target });
  return c.graph.get('model.m').compiledSql!;
}

describe('dialect helpers and dispatch by target', () => {
  it('uses the default macros and ANSI forms on DuckDB and PostgreSQL', async () => {
    for (const target of ['dev', 'pg']) {
      const sql = await compiled(target);
      expect(sql).toContain('default:x as a');
      expect(sql).toContain("'hello' as c");
      expect(sql).toContain("regexp_replace(x, '[^0-9]', '', 'g') as d");
      expect(sql).toContain("(ts - INTERVAL '7 day') as e");
    }
  });

  it('uses the <warehouse>__ overrides and the warehouse forms on BigQuery and Snowflake', async () => {
    const bq = await compiled('bq');
    expect(bq).toContain('bigquery:x as a');
    expect(bq).toContain('plain as b');
    expect(bq).toContain("'hello from bigquery' as c");
    expect(bq).toContain("REGEXP_REPLACE(x, '[^0-9]', '') as d");
    expect(bq).toContain('TIMESTAMP_SUB(ts, INTERVAL 7 DAY) as e');
    const sf = await compiled('sf');
    expect(sf).toContain('snowflake:x as a');
    expect(sf).toContain("'hello' as c");
    expect(sf).toContain('DATEADD(day, -7, ts) as e');
  });

  it('runs the helpers’ SQL on DuckDB', async () => {
    const dir = project({
      'models/w.sql': `{{config materialized="table"}}
with p as (select cast('2026-06-30 00:00:00' as timestamp) as as_of)
select {{regexp_replace "'+1 (555) 010-2000'" "[^0-9]" ""}} as digits,
       {{timestamp_minus "p.as_of" 30 "day"}} as start_at
from p`,
    });
    const res = await runCli(['run', '--project-dir', dir]);
    expect(res.code, res.stderr).toBe(0);
    const rows = await queryDuckDb(`${dir}/.cdp/dev.duckdb`, 'select digits, cast(start_at as varchar) as start_at from analytics.w');
    expect(rows).toEqual([{ digits: '15550102000', start_at: '2026-05-31 00:00:00' }]);
  });

  it('names the file and line of a bad helper call', async () => {
    const err = await compileProject({ projectDir: project({ 'models/bad.sql': 'select 1\nwhere t > {{timestamp_minus "t" "soon" "day"}}' }) })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CdpError);
    const text = formatError(err as CdpError);
    expect(text).toMatch(/models\/bad\.sql:2/);
    expect(text).toContain('timestamp_minus takes a timestamp expression, a whole number and a unit');
  });

  it('refuses a project helper that would replace a built-in dialect helper', async () => {
    const err = await compileProject({ projectDir: project({ 'macros/h.js': 'export function regexp_replace() { return 1; }', 'models/x.sql': 'select 1' }) })
      .then(() => undefined, (e: unknown) => e);
    expect(String((err as Error).message)).toContain('helper "regexp_replace" is already defined');
  });
});
