/**
 * Writes `target/compiled/**.sql`, skipping files whose content is unchanged since the last
 * compile (`.checksums.json` records what is on disk).
 *
 * A large project has thousands of files: creating them costs the kernel far more than the
 * compiler spends on anything else, so they are written from a worker thread while the main
 * thread builds the manifest. The worker's code is inline so that it runs the same from
 * source (tests) and from dist. Small projects write in-thread: starting a worker would cost
 * more than it saves.
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

/** Above this many files, a worker thread pays for itself. */
export const WORKER_THRESHOLD = 256;

/**
 * The writer, as one self-contained function: it runs either here or, as source text, in the
 * worker. Returns how many files it wrote.
 */
function writeAll(
  fs: { mkdirSync: typeof mkdirSync; readdirSync: typeof readdirSync; readFileSync: typeof readFileSync; writeFileSync: typeof writeFileSync },
  join: (...parts: string[]) => string,
  compiledDir: string,
  files: { rel: string; sql: string; checksum: string }[],
  indexFile: string,
): number {
  fs.mkdirSync(compiledDir, { recursive: true });
  let previous: Record<string, string> = {};
  try {
    previous = JSON.parse(fs.readFileSync(join(compiledDir, indexFile), 'utf8'));
  } catch {
    // no index yet (or unreadable): every file is written
  }
  // A file the user deleted is written again: each directory is listed once, names only.
  const listings = new Map<string, Set<string>>();
  const index: Record<string, string> = {};
  let written = 0;
  for (const { rel, sql, checksum } of files) {
    index[rel] = checksum;
    const slash = rel.lastIndexOf('/');
    const dir = rel.slice(0, slash + 1);
    let names = listings.get(dir);
    if (!names) {
      try {
        names = new Set(fs.readdirSync(join(compiledDir, dir)));
      } catch {
        fs.mkdirSync(join(compiledDir, dir), { recursive: true });
        names = new Set();
      }
      listings.set(dir, names);
    }
    if (previous[rel] === checksum && names.has(rel.slice(slash + 1))) continue;
    fs.writeFileSync(join(compiledDir, rel), sql.endsWith('\n') ? sql : `${sql}\n`);
    written++;
  }
  fs.writeFileSync(join(compiledDir, indexFile), JSON.stringify(index));
  return written;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const writeAll = ${writeAll.toString()};
try {
  parentPort.postMessage({ written: writeAll(fs, path.join, workerData.compiledDir, workerData.files, workerData.indexFile) });
} catch (err) {
  parentPort.postMessage({ error: { message: err && err.message, code: err && err.code, path: err && err.path } });
}
`;

/** Writes the files (in a worker when there are many); resolves with how many were written. */
export function writeCompiledFiles(compiledDir: string, files: CompiledFile[]): Promise<number> {
  if (files.length < WORKER_THRESHOLD) {
    try {
      return Promise.resolve(writeAll({ mkdirSync, readdirSync, readFileSync, writeFileSync }, path.join, compiledDir, files, INDEX_FILE));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { compiledDir, files, indexFile: INDEX_FILE } });
    worker.once('message', (msg: { written?: number; error?: { message: string; code?: string; path?: string } }) => {
      if (msg.error) reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, path: msg.error.path }));
      else resolve(msg.written ?? 0);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`compiled-file writer exited with code ${code}`));
    });
  });
}
