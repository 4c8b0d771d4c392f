/**
 * Runs the `cdp` CLI as a real subprocess, the way a user does, and reads DuckDB files it wrote.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(REPO_DIR, 'src', 'cli', 'main.ts');
// `--import tsx` resolves from the child's cwd, which is usually a temp project: use an absolute URL.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to the environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** Variables a test sets on purpose must not leak in from the developer's shell. */
const SCRUBBED = ['CDP_TEST_PW', 'CDP_HOST_SECRET', 'FORCE_COLOR'];

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1' };
  for (const key of SCRUBBED) delete env[key];
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', TSX_LOADER, MAIN, ...args],
      { cwd: opts.cwd ?? REPO_DIR, env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          // Killed by the timeout or never started: not an exit code the CLI chose.
          reject(new Error(`cdp ${args.join(' ')} did not exit normally (${err.signal ?? err.code ?? err.message})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

/** A line of a JavaScript stack trace. */
export const STACK_LINE = /^\s+at /m;

/** Runs a query against a DuckDB file. The CLI must have exited: DuckDB files have one writer. */
export async function queryDuckDb(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file);
  try {
    const conn = await instance.connect();
    try {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
