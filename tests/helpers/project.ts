/**
 * Test fixtures: throwaway projects on disk and throwaway PostgreSQL databases.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };

export function makeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdp-test-'));
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...PG, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database; returns its name. */
export async function createPgDatabase(): Promise<string> {
  const name = `cdp_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`create database ${name}`));
  return name;
}

export async function dropPgDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists ${name} with (force)`));
}

export interface TargetFixture {
  name: 'duckdb' | 'postgres';
  /** YAML for `targets:` entry `test`. */
  yaml(): string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

export function duckdbTarget(): TargetFixture {
  return {
    name: 'duckdb',
    yaml: () => `    type: duckdb\n`,
    setup: async () => undefined,
    teardown: async () => undefined,
  };
}

export function postgresTarget(): TargetFixture {
  let db = '';
  return {
    name: 'postgres',
    yaml: () => `    type: postgres\n    host: ${PG.host}\n    port: ${PG.port}\n    user: ${PG.user}\n    database: ${db}\n`,
    setup: async () => {
      db = await createPgDatabase();
    },
    teardown: async () => {
      if (db) await dropPgDatabase(db);
    },
  };
}

export function configYaml(target: TargetFixture, extra = ''): string {
  return `name: test_project\ntarget: test\ntargets:\n  test:\n${target.yaml()}schema: analytics\nthreads: 2\n${extra}`;
}
