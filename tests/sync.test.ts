/**
 * The sync engine against a real local webhook receiver: diffs, faults, crashes and locks.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { CdpError, CdpErrors } from '../src/errors.js';
import { loadConfig, resolveTarget } from '../src/project/config.js';
import { runCommand } from '../src/runner/run.js';
import { runSyncs, type SyncOutcome } from '../src/sync/runner.js';
import { loadSyncs } from '../src/sync/spec.js';
import { openWarehouse, type TargetConfig } from '../src/warehouse/registry.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { startWebhookServer, type WebhookServer } from './contract/webhook-server.js';
import { configYaml, duckdbTarget, makeProject, postgresTarget, removeProject, writeFiles, type TargetFixture } from './helpers/project.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

function members(rows: [number, string, string][]): string {
  return `id,email,name\n${rows.map((r) => r.join(',')).join('\n')}\n`;
}
const people = (n: number, from = 1): [number, string, string][] => Array.from({ length: n }, (_, i) => [from + i, `user${from + i}@acme.io`, `User ${from + i}`]);

function project(target: TargetFixture, hookUrl: string, extraDest = ''): string {
  return makeProject({
    'cdp.config.yaml': `${configYaml(target)}destinations:\n  hook:\n    type: webhook\n    url: ${hookUrl}\n    batch_size: 25\n    concurrency: 2\n    timeout_ms: 400\n${extraDest}`,
    'seeds/members.csv': members(people(100)),
    'models/audience.sql': 'select cast(id as varchar) as member_id, email, name from {{ref "members"}}',
    'syncs/to_hook.yml': 'name: to_hook\nsource: { model: audience }\nkey: member_id\ndestination: hook\nmode: audience\nfields: { email: email, name: name }\nmax_attempts: 8\n',
  });
}

async function build(dir: string): Promise<void> {
  const outcome = await runCommand({ command: 'build', projectDir: dir, out: quiet });
  expect(outcome.exitCode).toBe(0);
}

async function sync(dir: string, opts: { dryRun?: boolean; fullResync?: boolean } = {}): Promise<SyncOutcome> {
  const compiled = await compileProject({ projectDir: dir });
  const syncs = await loadSyncs(compiled);
  const wh = await openWarehouse(resolveTarget(compiled.project.config, undefined).settings as TargetConfig);
  try {
    const [outcome] = await runSyncs(compiled, wh, syncs, { ...opts, retryBaseMs: 5 });
    return outcome;
  } finally {
    await wh.close();
  }
}

async function query<T>(dir: string, sql: string): Promise<T[]> {
  const wh: Warehouse = await openWarehouse(resolveTarget(loadConfig(dir), undefined).settings as TargetConfig);
  try {
    return (await wh.query(sql)) as T[];
  } finally {
    await wh.close();
  }
}

function expectState(server: WebhookServer, rows: [number, string, string][]): void {
  const expected = new Map(rows.map(([id, email, name]) => [String(id), { email, name }]));
  expect(Object.fromEntries(server.state)).toEqual(Object.fromEntries(expected));
}

describe.each([duckdbTarget(), postgresTarget()])('sync engine on $name', (target) => {
  let server: WebhookServer;
  let dir: string;
  beforeAll(async () => {
    await target.setup();
    server = await startWebhookServer({ maxBatch: 25 });
    dir = project(target, server.url);
    await build(dir);
  });
  afterAll(async () => {
    await server.close();
    removeProject(dir);
    await target.teardown();
  });

  it('sends everything once, then only changes; a no-op re-sync sends no request', async () => {
    const first = await sync(dir);
    expect(first.error).toBeUndefined();
    expect(first.result).toMatchObject({ status: 'success', added: 100, requests: 4 });
    expectState(server, people(100));
    expect(server.requests.every((r) => r.size <= 25)).toBe(true);

    const before = server.requests.length;
    expect((await sync(dir)).result).toMatchObject({ status: 'success', plan: { total: 0 }, requests: 0 });
    expect(server.requests.length).toBe(before);

    const next = people(100).filter(([id]) => id !== 7).map(([id, e, n]): [number, string, string] => (id === 8 ? [id, 'new8@acme.io', n] : [id, e, n]));
    next.push([101, 'user101@acme.io', 'User 101']);
    writeFiles(dir, { 'seeds/members.csv': members(next) });
    await build(dir);
    expect((await sync(dir)).result).toMatchObject({ status: 'success', added: 1, changed: 1, removed: 1, requests: 1 });
    expectState(server, next);
    const log = await query<{ op: string; n: number }>(dir, `select op, count(*) as n from cdp_state.sync_changelog where sync = 'to_hook' group by op order by op`);
    expect(log).toEqual([{ op: 'add', n: 102 }, { op: 'remove', n: 1 }]);
  });

  it('recovers from 429, 5xx, resets and timeouts, and retries rejected rows on the next run', async () => {
    writeFiles(dir, { 'seeds/members.csv': members(people(150)) });
    await build(dir);
    server.inject({ kind: 'status', status: 429, retryAfter: '0', times: 2 });
    server.inject({ kind: 'status', status: 503, times: 1 });
    server.inject({ kind: 'reset', times: 1 });
    server.inject({ kind: 'delay', ms: 600, times: 1 });
    server.inject({ kind: 'reject', keys: ['120'], reason: 'invalid email', times: 1 });
    server.inject({ kind: 'retry_rows', keys: ['130'], times: 1 });
    const run = await sync(dir);
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({ status: 'partial', rejected: 1 });
    expect(run.result!.retried).toBeGreaterThan(0);
    expectState(server, people(150).filter(([id]) => id !== 120));
    const open = await query<{ key: string; reason: string; attempts: number }>(dir, `select key, reason, attempts from cdp_state.sync_rejections where sync = 'to_hook'`);
    expect(open).toEqual([{ key: '120', reason: 'invalid email', attempts: 1 }]);

    const retry = await sync(dir);
    expect(retry.result).toMatchObject({ status: 'success', added: 1, requests: 1 });
    expectState(server, people(150));
    expect(await query(dir, `select key from cdp_state.sync_rejections where sync = 'to_hook'`)).toEqual([]);
    expect(server.problems).toEqual([]);
  });

  it('a dry run prints a plan and sends nothing; a full resync sends everything again', async () => {
    writeFiles(dir, { 'seeds/members.csv': members(people(151)) });
    await build(dir);
    const dry = await sync(dir, { dryRun: true });
    expect(dry.result).toMatchObject({ status: 'dry_run', plan: { add: 1, total: 1 }, requests: 0 });
    expect(dry.result!.sample).toEqual([{ key: '151', change: 'add', op: 'add', fields: ['email', 'name'] }]);
    // (A request the previous test abandoned on timeout may still land late, so count by run.)
    expect(server.requests.filter((r) => r.batchId.startsWith(dry.result!.runId))).toEqual([]);
    const full = await sync(dir, { fullResync: true });
    expect(full.result).toMatchObject({ status: 'success', added: 151 });
    expectState(server, people(151));
  });

  it('fails before sending when the source has duplicate keys', async () => {
    writeFiles(dir, { 'models/audience.sql': 'select cast(id % 10 as varchar) as member_id, email, name from {{ref "members"}}' });
    await build(dir);
    const before = server.requests.length;
    const run = await sync(dir);
    expect(run.error?.message).toMatch(/duplicate values of key member_id/);
    expect(server.requests.length).toBe(before);
    writeFiles(dir, { 'models/audience.sql': 'select cast(id as varchar) as member_id, email, name from {{ref "members"}}' });
    await build(dir);
  });

  it('takes over a snapshot with the text hashes of older versions: sends every row once and removes what is gone', async () => {
    const snap = 'cdp_state.sync_to_hook_snapshot';
    await query(dir, `create table cdp_state.old_snapshot as select key, 'f00d' as row_hash, fields, delivered_at from ${snap}`);
    await query(dir, `drop table ${snap}`);
    await query(dir, `alter table cdp_state.old_snapshot rename to sync_to_hook_snapshot`);
    const rows = people(151).filter(([id]) => id !== 3);
    writeFiles(dir, { 'seeds/members.csv': members(rows) });
    await build(dir);
    const run = await sync(dir);
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({ status: 'success', added: 0, changed: 150, removed: 1 });
    expect(run.result!.message).toContain('older cdp version');
    expectState(server, rows);
    expect((await sync(dir)).result).toMatchObject({ status: 'success', plan: { total: 0 }, requests: 0 });
  });

  it('re-sends a change or removal that arrived unconfirmed when the source goes back to the old value', async () => {
    const steady = people(40);
    writeFiles(dir, { 'seeds/members.csv': members(steady) });
    await build(dir);
    expect((await sync(dir)).error).toBeUndefined();
    expectState(server, steady);

    // A removal the destination applied while the run died (401 after applying: fatal).
    writeFiles(dir, { 'seeds/members.csv': members(steady.filter(([id]) => id !== 5)) });
    await build(dir);
    server.inject({ kind: 'apply_then_status', status: 401, times: 1 });
    expect((await sync(dir)).error).toBeDefined();
    expect(server.state.has('5')).toBe(false);
    // Member 5 is back, unchanged: the destination must get it again.
    writeFiles(dir, { 'seeds/members.csv': members(steady) });
    await build(dir);
    expect((await sync(dir)).error).toBeUndefined();
    expectState(server, steady);

    // The same for a change that is then reverted.
    writeFiles(dir, { 'seeds/members.csv': members(steady.map(([id, e, n]): [number, string, string] => [id, id === 6 ? 'changed6@acme.io' : e, n])) });
    await build(dir);
    server.inject({ kind: 'apply_then_status', status: 401, times: 1 });
    expect((await sync(dir)).error).toBeDefined();
    expect(server.state.get('6')).toEqual({ email: 'changed6@acme.io', name: 'User 6' });
    writeFiles(dir, { 'seeds/members.csv': members(steady) });
    await build(dir);
    expect((await sync(dir)).error).toBeUndefined();
    expectState(server, steady);
    expect((await sync(dir)).result).toMatchObject({ status: 'success', plan: { total: 0 }, requests: 0 });
  });

  it('completes a state upgrade stopped between dropping the old snapshot and renaming the new one', async () => {
    const steady = people(40);
    // Where DDL is not transactional (BigQuery, Snowflake) a crash can leave only the copy.
    await query(dir, 'alter table cdp_state.sync_to_hook_snapshot rename to sync_to_hook_snapshot_next');
    const rows = steady.filter(([id]) => id !== 3);
    writeFiles(dir, { 'seeds/members.csv': members(rows) });
    await build(dir);
    const run = await sync(dir);
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({ status: 'success', added: 0, removed: 1 });
    expectState(server, rows);
    expect(await query(dir, "select count(*) as n from information_schema.tables where table_name = 'sync_to_hook_snapshot_next'")).toEqual([{ n: 0 }]);
  });
});

describe('sync failures that stop a run', () => {
  let server: WebhookServer;
  const pg = postgresTarget();
  let dir: string;
  beforeAll(async () => {
    await pg.setup();
    server = await startWebhookServer({ secret: 'right-secret-value' });
    dir = project(pg, server.url);
    await build(dir);
  });
  afterAll(async () => {
    delete process.env.CDP_TEST_HOOK_SECRET;
    await server.close();
    removeProject(dir);
    await pg.teardown();
  });

  it('stops on refused credentials, keeping nothing unconfirmed', async () => {
    process.env.CDP_TEST_HOOK_SECRET = 'wrong-secret-value';
    writeFiles(dir, { 'cdp.config.yaml': `${configYaml(pg)}destinations:\n  hook:\n    type: webhook\n    url: ${server.url}\n    secret: \${env:CDP_TEST_HOOK_SECRET}\n` });
    const run = await sync(dir);
    expect(run.error?.message).toContain('refused the credentials (401)');
    expect(run.error?.message).not.toContain('wrong-secret-value');
    expect(await query(dir, 'select count(*) as n from cdp_state.sync_to_hook_snapshot')).toEqual([{ n: 0 }]);
    const [last] = await query<{ status: string }>(dir, `select status from cdp_state.sync_runs order by started_at desc limit 1`);
    expect(last.status).toBe('failed');
    process.env.CDP_TEST_HOOK_SECRET = 'right-secret-value';
    expect((await sync(dir)).result).toMatchObject({ status: 'success', added: 100 });
  });

  it('refuses a second concurrent run of the same sync and sends nothing', async () => {
    await query(dir, `insert into cdp_state.sync_locks (sync, run_id, pid, host, acquired_at) values ('to_hook', 'other-run', ${process.pid}, '${(await import('node:os')).hostname()}', now())`);
    const before = server.requests.length;
    writeFiles(dir, { 'seeds/members.csv': members(people(120)) });
    await build(dir);
    const run = await sync(dir);
    expect(run.error).toBeInstanceOf(CdpError);
    expect(run.error!.message).toMatch(/sync "to_hook" is already running \(run other-run, pid \d+/);
    expect(server.requests.length).toBe(before);
    await query(dir, `delete from cdp_state.sync_locks`);
  });
});

describe('bad sync definitions', () => {
  it('fail before anything is sent, naming file, line and key', async () => {
    const dir = makeProject({
      'cdp.config.yaml': 'name: t\ndestinations:\n  hook: { type: webhook, url: "http://127.0.0.1:9/x" }\n  bad: { type: webhok }\n',
      'models/a.sql': 'select 1 as id',
      'syncs/one.yml': 'name: one\nsource: { segment: a }\nkey: id\ndestination: hoook\nmode: audience\n',
      'syncs/two.yml': 'name: two\nsource: { model: b }\nkey: id\ndestination: bad\nmode: upsert\n',
      'syncs/three.yml': 'name: three\nsource: { model: a }\nkey: id\ndestination: hook\nmode: audiance\nschedule: { cron: "61 * * * *" }\n',
    });
    try {
      const compiled = await compileProject({ projectDir: dir });
      const err = await loadSyncs(compiled).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CdpErrors);
      const errors = (err as CdpErrors).errors.map((e) => ({ message: e.message, file: path.basename(e.location?.file ?? ''), line: e.location?.line, hint: e.hint }));
      expect(errors).toEqual(expect.arrayContaining([
        expect.objectContaining({ message: 'unknown value "audiance"', file: 'three.yml', line: 5, hint: expect.stringContaining('did you mean "audience"?') }),
        expect.objectContaining({ message: '"a" is not a segment (it is materialized as view)', file: 'one.yml', line: 2 }),
        expect.objectContaining({ message: 'unknown destination "hoook"', file: 'one.yml', line: 4, hint: expect.stringContaining('did you mean "hook"?') }),
        expect.objectContaining({ message: 'unknown model "b"', file: 'two.yml', line: 2 }),
        expect.objectContaining({ message: expect.stringContaining('unknown destination type "webhok"'), file: 'cdp.config.yaml', line: 4 }),
      ]));
    } finally {
      removeProject(dir);
    }
  });
});

const TSX = path.join(repo, 'node_modules/tsx/dist/loader.mjs');
const CLI = path.join(repo, 'src/cli/main.ts');

describe('crash recovery', () => {
  it('converges to exactly the source after kill -9 at random points over 20 runs', async () => {
    const server = await startWebhookServer({ delayMs: 15 });
    const target = duckdbTarget();
    const dir = project(target, server.url);
    let rows = people(300);
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    try {
      for (let i = 0; i < 20; i++) {
        // Change the source between runs: removals, changes and additions.
        rows = rows.filter(() => rand(10) !== 0).map(([id, e, n]): [number, string, string] => (rand(8) === 0 ? [id, `v${i}.${e}`, n] : [id, e, n]));
        rows.push(...people(5, 1000 + i * 5));
        writeFiles(dir, { 'seeds/members.csv': members(rows) });
        await build(dir);
        const child = spawn(process.execPath, ['--import', TSX, CLI, 'sync', 'run', 'to_hook', '--project-dir', dir], { stdio: 'ignore', env: { ...process.env, CI: '1' } });
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        await new Promise((r) => setTimeout(r, 400 + rand(1400)));
        child.kill('SIGKILL');
        await exited;
      }
      const finalRun = await new Promise<{ code: number | null; out: string }>((resolve) =>
        execFile(process.execPath, ['--import', TSX, CLI, 'sync', 'run', 'to_hook', '--project-dir', dir], { env: { ...process.env, CI: '1' } }, (err, stdout, stderr) =>
          resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, out: stdout + stderr })));
      expect(finalRun.out).toContain('OK    to_hook');
      expect(finalRun.code).toBe(0);
      expectState(server, rows);
      expect(server.problems).toEqual([]);
    } finally {
      await server.close();
      removeProject(dir);
    }
  }, 240_000);
});

describe('cdp serve', () => {
  it('runs cron-scheduled syncs and stops gracefully on SIGTERM', async () => {
    const server = await startWebhookServer({ delayMs: 30 });
    const dir = project(duckdbTarget(), server.url);
    writeFiles(dir, { 'syncs/to_hook.yml': 'name: to_hook\nsource: { model: audience }\nkey: member_id\ndestination: hook\nmode: audience\nfields: { email: email, name: name }\nschedule: { cron: "* * * * * *" }\n' });
    try {
      await build(dir);
      const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', '--project-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (let i = 0; i < 150 && !out.includes('OK    to_hook'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('serving 1 scheduled sync: to_hook (* * * * * *)');
      expect(out).toContain('OK    to_hook: 100 added');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('stopped');
      expectState(server, people(100));
    } finally {
      await server.close();
      removeProject(dir);
    }
  }, 60_000);
});
