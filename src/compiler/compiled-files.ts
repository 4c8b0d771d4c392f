/**
 * Writes `target/compiled/**.sql`, skipping files whose content is unchanged since the last
 * compile (`.checksums.json` records what is on disk).
 *
 * Which files need writing is decided on the calling thread: that takes one read of the index
 * and one name-only listing per directory, so an unchanged project (the usual warm compile)
 * writes nothing and starts no thread. Creating thousands of files, on the other hand, costs
 * the kernel far more than the compiler spends on anything else (see BENCHMARKS.md), so when
 * there are many a worker thread starts on them while the caller builds the manifest; then the
 * caller writes too, from the other end of the list, until the two meet. The worker's code is
 * inline so that it runs the same from source (tests) and from dist.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface CompiledFile {
  /** Path under compiled/, forward slashes. */
  rel: string;
  sql: string;
  checksum: string;
}

export const INDEX_FILE = '.checksums.json';

/** From this many files to write, a worker thread pays for itself. */
export const WORKER_THRESHOLD = 256;

/** Files are handed out in chunks of this many, in path order (so mostly one directory each). */
const CHUNK = 32;

/** What a compile has to write: the files that changed or are missing, and the new index. */
export interface WritePlan {
  /** In path order. */
  files: CompiledFile[];
  /** The new index, or undefined when the one on disk already says the same. */
  index?: string;
}

export function planWrites(compiledDir: string, files: CompiledFile[]): WritePlan {
  let previous: Record<string, string> = {};
  try {
    previous = JSON.parse(readFileSync(path.join(compiledDir, INDEX_FILE), 'utf8')) as Record<string, string>;
  } catch {
    // no index yet (or unreadable): every file is written
  }
  // A file the user deleted is written again: each directory is listed once, names only, and
  // only when the index says something in it is up to date.
  const listings = new Map<string, Set<string>>();
  const pending: CompiledFile[] = [];
  let sameIndex = true;
  for (const file of files) {
    const { rel, checksum } = file;
    const slash = rel.lastIndexOf('/');
    if (previous[rel] === checksum) {
      const dir = rel.slice(0, slash + 1);
      let names = listings.get(dir);
      if (!names) {
        try {
          names = new Set(readdirSync(path.join(compiledDir, dir)));
        } catch {
          names = new Set();
        }
        listings.set(dir, names);
      }
      if (names.has(rel.slice(slash + 1))) continue;
    } else {
      sameIndex = false;
    }
    pending.push(file);
  }
  if (sameIndex && Object.keys(previous).length !== files.length) sameIndex = false;
  if (sameIndex && pending.length === 0) return { files: pending };
  const index: Record<string, string> = {};
  for (const { rel, checksum } of files) index[rel] = checksum;
  pending.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files: pending, index: JSON.stringify(index) };
}

/**
 * Writes the chunks of `files` this thread claims, one at a time from the front (or from the
 * back), until it meets a chunk the other thread has claimed: each chunk's flag in `claims` is
 * set by exactly one thread. Returns how many files it wrote. Runs here and, as source text,
 * in the worker, so it uses nothing but its arguments.
 */
function writeClaimed(
  fs: { mkdirSync: typeof mkdirSync; writeFileSync: typeof writeFileSync },
  join: (...parts: string[]) => string,
  compiledDir: string,
  files: { rel: string; sql: string }[],
  claims: Int32Array,
  chunk: number,
  fromEnd: boolean,
): number {
  const made = new Set<string>();
  let written = 0;
  for (let n = 0; n < claims.length; n++) {
    const c = fromEnd ? claims.length - 1 - n : n;
    if (Atomics.compareExchange(claims, c, 0, 1) !== 0) break;
    for (let i = c * chunk; i < Math.min((c + 1) * chunk, files.length); i++) {
      const { rel, sql } = files[i];
      const dir = rel.slice(0, rel.lastIndexOf('/') + 1);
      if (!made.has(dir)) {
        fs.mkdirSync(join(compiledDir, dir), { recursive: true });
        made.add(dir);
      }
      fs.writeFileSync(join(compiledDir, rel), sql.endsWith('\n') ? sql : `${sql}\n`);
      written++;
    }
  }
  return written;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const writeClaimed = ${writeClaimed.toString()};
try {
  const { compiledDir, files, claims, chunk } = workerData;
  parentPort.postMessage({ written: writeClaimed(fs, path.join, compiledDir, files, claims, chunk, false) });
} catch (err) {
  parentPort.postMessage({ error: { message: err && err.message, code: err && err.code, path: err && err.path } });
}
`;

export interface CompiledFilesWrite {
  /**
   * Writes the files no thread has taken yet, waits for the worker, then writes the index
   * (last: it never lists a file that is not there). Resolves with how many files were written.
   */
  finish(): Promise<number>;
}

/** Starts writing what changed: on a worker when that is a lot, otherwise all in finish(). */
export function startWritingCompiledFiles(compiledDir: string, files: CompiledFile[]): CompiledFilesWrite {
  const plan = planWrites(compiledDir, files);
  const pending = plan.files.map(({ rel, sql }) => ({ rel, sql }));
  // Per chunk: 0 = not taken yet, 1 = taken (by either thread).
  const claims = new Int32Array(new SharedArrayBuffer(4 * Math.ceil(pending.length / CHUNK)));
  let worker: Worker | undefined;
  let byWorker: Promise<number> = Promise.resolve(0);
  if (pending.length >= WORKER_THRESHOLD) {
    byWorker = new Promise((resolve, reject) => {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { compiledDir, files: pending, claims, chunk: CHUNK } });
      worker.once('message', (msg: { written?: number; error?: { message: string; code?: string; path?: string } }) => {
        if (msg.error) reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, path: msg.error.path }));
        else resolve(msg.written ?? 0);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`compiled-file writer exited with code ${code}`));
      });
    });
    // If the caller fails before finish(), the worker's outcome must not go unhandled.
    byWorker.catch(() => undefined);
  }
  return {
    async finish() {
      let mine: number;
      try {
        mkdirSync(compiledDir, { recursive: true });
        mine = writeClaimed({ mkdirSync, writeFileSync }, path.join, compiledDir, pending, claims, CHUNK, true);
      } catch (err) {
        // Let the worker stop touching the directory before reporting.
        await byWorker.catch(() => undefined);
        throw err;
      }
      // This thread took every chunk when the worker took none (it takes them in order from the
      // front): then the worker writes nothing, and the process need not wait for it.
      let theirs = 0;
      if (mine === pending.length) worker?.unref();
      else theirs = await byWorker;
      if (plan.index !== undefined) writeFileSync(path.join(compiledDir, INDEX_FILE), plan.index);
      return mine + theirs;
    },
  };
}
