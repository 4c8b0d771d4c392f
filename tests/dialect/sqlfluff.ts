/**
 * Checks SQL statements with sqlfluff's parser (the Debian package; see .ci/run). Only parse
 * and lex errors count: `lint --rules PRS` names no real rule, so no style rule runs, and
 * every file's unparsable sections come back with line, position and text.
 *
 * sqlfluff is slow on deeply nested expressions (seconds for the identity normalisation
 * SQL), so the work is cut three ways:
 * - statements that differ only in quoted identifiers and literals have the same grammar:
 *   one of each shape is parsed;
 * - a statement that another one starts with (the same CREATE ... AS select, extended by a
 *   UNION ALL) is covered by the longer one;
 * - passing statements are remembered by hash of (sqlfluff version, dialect, config, text):
 *   in a cache directory, so a rerun parses only what changed, and in a reviewed list kept
 *   with the golden files (`known`), so a fresh checkout does too. The parser is
 *   deterministic, so a statement whose exact text passed with this sqlfluff passes again.
 *   Failures are never remembered. CDP_SQLFLUFF_CACHE=off parses everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';

export const INSTALL_HINT = 'sqlfluff not installed: apt-get install sqlfluff (see .ci/run)';

/** No templating: the statements are final SQL, and `{{`, `{%` must not mean Jinja. */
function configText(dialect: string): string {
  return `[sqlfluff]\ndialect = ${dialect}\ntemplater = raw\n# The default skips files over 20 kB without a word.\nlarge_file_skip_byte_limit = 0\nlarge_file_skip_char_limit = 0\n`;
}

let version: string | null | undefined;

/** The installed sqlfluff's version, or undefined when it is not on PATH. */
export function sqlfluffVersion(): string | undefined {
  if (version === undefined) {
    const r = spawnSync('sqlfluff', ['version'], { encoding: 'utf8' });
    version = r.status === 0 ? r.stdout.trim() : null;
  }
  return version ?? undefined;
}

export interface ParseProblem {
  /** Index into the statements given. */
  index: number;
  /** sqlfluff's messages, e.g. `Line 2, Position 39: Found unparsable section: 'as nulls'`. */
  messages: string[];
  /** Other statements of the same shape, which fail the same way. */
  sameShape: number[];
}

export interface CheckResult {
  problems: ParseProblem[];
  /** Statements parsed in this run (the rest were deduplicated or known to pass). */
  parsed: number;
  cached: number;
  /** Keys (`cacheKey`) of the statements that pass. */
  passed: string[];
}

/**
 * The statement with quoted identifiers, string literals and numbers masked: statements
 * with equal shapes take the same path through the grammar.
 */
export function shapeOf(sql: string): string {
  return sql
    .replace(/`(?:[^`\\]|\\.)*`/g, '`q`')
    .replace(/"(?:[^"]|"")*"/g, '"q"')
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "'s'")
    .replace(/\b\d+\b/g, '0');
}

function cacheDir(): string | undefined {
  const setting = process.env.CDP_SQLFLUFF_CACHE;
  if (setting === 'off') return undefined;
  return setting || path.join(tmpdir(), `cdp-sqlfluff-cache-${process.getuid?.() ?? 'user'}`);
}

/** 64 bits of SHA-256: enough to tell a few thousand statements apart. */
export function cacheKey(dialect: string, sql: string): string {
  return createHash('sha256').update(`${sqlfluffVersion()}\0${configText(dialect)}\0${sql}`).digest('hex').slice(0, 16);
}

function loadCache(dialect: string): Set<string> {
  const dir = cacheDir();
  const file = dir && path.join(dir, `${dialect}.json`);
  if (!file || !existsSync(file)) return new Set();
  try {
    return new Set(JSON.parse(readFileSync(file, 'utf8')) as string[]);
  } catch {
    return new Set();
  }
}

function saveCache(dialect: string, passed: Set<string>): void {
  const dir = cacheDir();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${dialect}.json`);
  // Written aside and renamed: parallel runs never read half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify([...passed]));
  renameSync(tmp, file);
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface LintFile {
  filepath: string;
  violations: { line_no: number; line_pos: number; code: string; description: string }[];
}

/** Picks the statements that must be parsed: one per shape, not covered by a longer one, not cached. */
function plan(sqls: string[], cached: Set<string>, keys: string[]): { reps: number[]; members: Map<number, number[]>; cachedCount: number } {
  const byShape = new Map<string, number[]>();
  let cachedCount = 0;
  sqls.forEach((sql, i) => {
    if (cached.has(keys[i])) {
      cachedCount++;
      return;
    }
    const shape = shapeOf(sql);
    const group = byShape.get(shape);
    if (group) group.push(i);
    else byShape.set(shape, [i]);
  });
  const members = new Map<number, number[]>();
  for (const group of byShape.values()) members.set(group[0], group.slice(1));
  // A long statement that is the start of another (followed by whitespace) is covered by it.
  const reps = [...members.keys()];
  const covered = new Set<number>();
  for (const a of reps) {
    const sa = sqls[a].trimEnd();
    if (sa.length < 1000) continue;
    for (const b of reps) {
      if (a === b || covered.has(b)) continue;
      const sb = sqls[b];
      if (sb.length > sa.length && sb.startsWith(sa) && /\s/.test(sb[sa.length])) {
        covered.add(a);
        members.get(b)!.push(a, ...members.get(a)!);
        break;
      }
    }
  }
  for (const a of covered) members.delete(a);
  return { reps: [...members.keys()], members, cachedCount };
}

/**
 * Parses every statement in its dialect, all dialects at once. Returns the statements that
 * do not parse, with sqlfluff's messages.
 */
export async function checkWithSqlfluff(jobs: { dialect: string; sqls: string[]; known?: Set<string> }[]): Promise<Map<string, CheckResult>> {
  if (!sqlfluffVersion()) throw new Error(INSTALL_HINT);
  const root = mkdtempSync(path.join(tmpdir(), 'cdp-sqlfluff-'));
  const processes = Math.max(1, Math.floor(availableParallelism() / Math.max(1, jobs.length)));
  try {
    const results = await Promise.all(jobs.map(async ({ dialect, sqls, known }) => {
      const keys = sqls.map((s) => cacheKey(dialect, s));
      const cached = cacheDir() ? new Set([...loadCache(dialect), ...(known ?? [])]) : new Set<string>();
      const { reps, members, cachedCount } = plan(sqls, cached, keys);
      const dir = path.join(root, dialect);
      mkdirSync(dir);
      writeFileSync(path.join(dir, '.sqlfluff'), configText(dialect));
      const fileOf = (i: number) => `s${String(i).padStart(5, '0')}.sql`;
      for (const i of reps) writeFileSync(path.join(dir, fileOf(i)), sqls[i].endsWith('\n') ? sqls[i] : `${sqls[i]}\n`);
      const problems: ParseProblem[] = [];
      if (reps.length) {
        const out = await run('sqlfluff', ['lint', '--dialect', dialect, '--rules', 'PRS', '--format', 'json', '--nofail', '--processes', String(processes), '.'], dir);
        let files: LintFile[];
        try {
          files = JSON.parse(out.stdout) as LintFile[];
        } catch {
          throw new Error(`sqlfluff lint (${dialect}) gave no JSON (exit ${out.code}): ${out.stderr.slice(0, 2000)}`);
        }
        const byFile = new Map(files.map((f) => [path.basename(f.filepath), f.violations]));
        for (const i of reps) {
          // Rule codes start with a letter and digits (L001, LT01); parse, lex and templating errors do not.
          const errors = (byFile.get(fileOf(i)) ?? []).filter((v) => !/^[A-Z]{1,2}\d/.test(v.code));
          if (errors.length) problems.push({ index: i, messages: errors.map((v) => `${v.code} ${v.description}`), sameShape: members.get(i) ?? [] });
        }
      }
      // Only the current statements are kept, so the cache does not grow with every change.
      const failed = new Set(problems.flatMap((p) => [p.index, ...p.sameShape]));
      const passed = keys.filter((_k, i) => !failed.has(i));
      saveCache(dialect, new Set(passed));
      return [dialect, { problems, parsed: reps.length, cached: cachedCount, passed }] as const;
    }));
    return new Map(results);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
