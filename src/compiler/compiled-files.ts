/**
 * Writes `target/compiled/**.sql`, skipping files whose content is unchanged since the last
 * compile (`.checksums.json` records what is on disk), and gives each file's checksum (SHA-256 of
 * its SQL) for the manifest.
 *
 * Which files need writing takes one read of the index and one name-only listing per directory.
 * With few files all of it happens on the calling thread, so an unchanged small project starts
 * no thread. Creating thousands of files, on the other hand, costs the kernel far more than the
 * compiler spends on anything else (see BENCHMARKS.md): when there are many to write, a worker
 * thread starts on them while the caller serialises the manifest, and once the caller is done it
 * writes too, from the other end of the list, until the two meet. With very many files (a large
 * project, even when nothing changed) the worker also hashes them and decides what to write, and
 * sends the checksums first (the manifest's nodes need them); it can be started ahead of time
 * (preheatCompiledFilesWriter), so that it has booted by then. The worker's code is inline so
 * that it runs the same from source (tests) and from dist.
 */
import crypto from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

export interface CompiledFile {
  /** Path under compiled/, forward slashes. */
  rel: string;
  sql: string;
}

export const INDEX_FILE = '.checksums.json';

/** From this many files to write, a worker thread pays for itself. */
export const WORKER_THRESHOLD = 256;

/**
 * From this many files in all, hashing them and deciding which to write (some 5 µs a file) is
 * left to the worker as well, whatever there is to write.
 */
export const HASHING_WORKER_THRESHOLD = 2000;

/** Files are handed out in chunks of this many, in path order (so mostly one directory each). */
const CHUNK = 32;

/** What a compile has to write: the files (their indexes) that changed or are missing, and the new index. */
export interface WritePlan {
  /** In path order. */
  pending: number[];
  /** The new index, or undefined when the one on disk already says the same. */
  index?: string;
}

/**
 * SHA-256 of each SQL text, hex. One-shot hashing (Node 20.12+) skips a Hash object per file.
 * Runs here and, as source text, in the worker.
 */
function hashAll(cryptoModule: typeof crypto, sqls: string[]): string[] {
  const oneShot = (cryptoModule as { hash?: (algorithm: string, data: string) => string }).hash;
  return sqls.map((sql) => (oneShot ? oneShot('sha256', sql) : cryptoModule.createHash('sha256').update(sql).digest('hex')));
}

/**
 * Which of the files (`rels`, with `checksums`) need writing. A file the user deleted is written
 * again: each directory is listed once, names only, and only when the index says something in it
 * is up to date. Runs here and, as source text, in the worker.
 */
function planWrites(
  fs: { readFileSync: typeof readFileSync; readdirSync: typeof readdirSync },
  join: (...parts: string[]) => string,
  compiledDir: string,
  indexFile: string,
  rels: string[],
  checksums: string[],
): WritePlan {
  let previous: Record<string, string> = {};
  try {
    previous = JSON.parse(fs.readFileSync(join(compiledDir, indexFile), 'utf8')) as Record<string, string>;
  } catch {
    // no index yet (or unreadable): every file is written
  }
  const listings = new Map<string, Set<string>>();
  const pending: number[] = [];
  let sameIndex = true;
  for (let i = 0; i < rels.length; i++) {
    const rel = rels[i];
    const slash = rel.lastIndexOf('/');
    if (previous[rel] === checksums[i]) {
      const dir = rel.slice(0, slash + 1);
      let names = listings.get(dir);
      if (!names) {
        try {
          names = new Set(fs.readdirSync(join(compiledDir, dir)) as string[]);
        } catch {
          names = new Set();
        }
        listings.set(dir, names);
      }
      if (names.has(rel.slice(slash + 1))) continue;
    } else {
      sameIndex = false;
    }
    pending.push(i);
  }
  if (sameIndex && Object.keys(previous).length !== rels.length) sameIndex = false;
  if (sameIndex && pending.length === 0) return { pending };
  const index: Record<string, string> = {};
  for (let i = 0; i < rels.length; i++) index[rels[i]] = checksums[i];
  pending.sort((a, b) => (rels[a] < rels[b] ? -1 : rels[a] > rels[b] ? 1 : 0));
  return { pending, index: JSON.stringify(index) };
}

/**
 * Writes the chunks of `pending` this thread claims, one at a time from the front (or from the
 * back), until it meets a chunk the other thread has claimed: each chunk's flag in `claims` is
 * set by exactly one thread. Returns how many files it wrote. Runs here and, as source text, in
 * the worker, so it uses nothing but its arguments.
 */
function writeClaimed(
  fs: { mkdirSync: typeof mkdirSync; writeFileSync: typeof writeFileSync },
  join: (...parts: string[]) => string,
  compiledDir: string,
  rels: string[],
  sqls: string[],
  pending: ArrayLike<number>,
  claims: Int32Array,
  chunk: number,
  fromEnd: boolean,
): number {
  const made = new Set<string>();
  const chunks = Math.ceil(pending.length / chunk);
  let written = 0;
  for (let n = 0; n < chunks; n++) {
    const c = fromEnd ? chunks - 1 - n : n;
    if (Atomics.compareExchange(claims, c, 0, 1) !== 0) break;
    for (let k = c * chunk; k < Math.min((c + 1) * chunk, pending.length); k++) {
      const rel = rels[pending[k]];
      const sql = sqls[pending[k]];
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

/**
 * The worker's job: the files (their SQL as one string, and the lengths that split it), and which
 * of them to write when the caller worked that out (then the worker only writes).
 */
interface WriteJob {
  compiledDir: string;
  rels: string[];
  sqlText: string;
  lengths: number[];
  claims: Int32Array;
  pending?: Int32Array;
}

/** What the worker sends: the checksums (64 hex digits each, one after another), the plan, and then how many files it wrote. */
type WriterMessage = { checksums: string } | { pending: Int32Array; index?: string } | { written: number } | { error: { message: string; code?: string; path?: string } };

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const hashAll = ${hashAll.toString()};
const planWrites = ${planWrites.toString()};
const writeClaimed = ${writeClaimed.toString()};
const { port, indexFile, chunk } = workerData;
port.once('message', (job) => {
  try {
    const { compiledDir, rels, sqlText, lengths, claims } = job;
    const sqls = new Array(lengths.length);
    for (let i = 0, at = 0; i < lengths.length; i++) sqls[i] = sqlText.slice(at, (at += lengths[i]));
    let pending = job.pending;
    if (!pending) {
      const checksums = hashAll(crypto, sqls);
      port.postMessage({ checksums: checksums.join('') });
      const plan = planWrites(fs, path.join, compiledDir, indexFile, rels, checksums);
      pending = Int32Array.from(plan.pending);
      port.postMessage({ pending, index: plan.index });
    }
    port.postMessage({ written: writeClaimed(fs, path.join, compiledDir, rels, sqls, pending, claims, chunk, false) });
  } catch (err) {
    port.postMessage({ error: { message: err && err.message, code: err && err.code, path: err && err.path } });
  }
  port.close();
});
`;

/** A writer worker waiting for its job. */
interface Writer {
  worker: Worker;
  port: MessagePort;
}

function spawnWriter(): Writer {
  const channel = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: channel.port2, indexFile: INDEX_FILE, chunk: CHUNK }, transferList: [channel.port2] });
  return { worker, port: channel.port1 };
}

let spare: Writer | undefined;

/**
 * Starts the writer worker ahead of need (compiles of many models do, while they compile), so
 * that it has booted when the files are ready. It does not keep the process alive; one that is
 * not used ends with it.
 */
export function preheatCompiledFilesWriter(): void {
  if (spare) return;
  try {
    spare = spawnWriter();
    spare.worker.unref();
    // Failing while it waits costs only its help.
    spare.worker.once('error', () => (spare = undefined));
  } catch {
    // then one is started when needed
  }
}

export interface CompiledFilesWrite {
  /** Each file's checksum, in order (SHA-256 of its SQL, hex). */
  checksums: Promise<string[]>;
  /**
   * Writes the files no thread has taken yet, waits for the worker, then writes the index
   * (last: it never lists a file that is not there). Resolves with how many files were written.
   */
  finish(): Promise<number>;
}

/**
 * Starts hashing and writing what changed. With many files all of it happens on a worker; with
 * fewer, this thread hashes them and decides what to write, and a worker helps write when that
 * is a lot; with few, everything happens here.
 */
export function startWritingCompiledFiles(compiledDir: string, files: CompiledFile[]): CompiledFilesWrite {
  const rels = files.map((f) => f.rel);
  const sqls = files.map((f) => f.sql);
  if (files.length >= HASHING_WORKER_THRESHOLD) return writeWithWorker(compiledDir, rels, sqls);
  const checksums = hashAll(crypto, sqls);
  const plan = planWrites({ readFileSync, readdirSync }, path.join, compiledDir, INDEX_FILE, rels, checksums);
  if (plan.pending.length >= WORKER_THRESHOLD) return writeWithWorker(compiledDir, rels, sqls, checksums, plan);
  return {
    checksums: Promise.resolve(checksums),
    async finish() {
      const claims = new Int32Array(Math.ceil(plan.pending.length / CHUNK));
      if (plan.pending.length) mkdirSync(compiledDir, { recursive: true });
      const written = writeClaimed({ mkdirSync, writeFileSync }, path.join, compiledDir, rels, sqls, plan.pending, claims, CHUNK, false);
      if (plan.index !== undefined) writeFileSync(path.join(compiledDir, INDEX_FILE), plan.index);
      return written;
    },
  };
}

/** A worker writes (from the front) what this thread has not taken (from the back), after hashing and planning unless `known`. */
function writeWithWorker(compiledDir: string, rels: string[], sqls: string[], knownChecksums?: string[], knownPlan?: WritePlan): CompiledFilesWrite {
  // Per chunk of pending files: 0 = not taken yet, 1 = taken (by either thread).
  const claims = new Int32Array(new SharedArrayBuffer(4 * Math.ceil(rels.length / CHUNK)));
  const writer = spare ?? spawnWriter();
  spare = undefined;
  writer.worker.ref();
  let fail: (err: Error) => void = () => undefined;
  let gotChecksums: (c: string[]) => void = () => undefined;
  let gotPlan: (p: { pending: ArrayLike<number>; index?: string }) => void = () => undefined;
  let gotWritten: (n: number) => void = () => undefined;
  const checksums = new Promise<string[]>((resolve, reject) => ((gotChecksums = resolve), (fail = reject)));
  const plan = new Promise<{ pending: ArrayLike<number>; index?: string }>((resolve) => (gotPlan = resolve));
  const written = new Promise<number>((resolve) => (gotWritten = resolve));
  if (knownChecksums) gotChecksums(knownChecksums);
  if (knownPlan) gotPlan(knownPlan);
  let failure: Error | undefined;
  let done = false;
  const failed = (err: Error) => {
    if (done) return;
    done = true;
    failure = err;
    fail(err);
    gotPlan({ pending: [] });
    gotWritten(0);
  };
  const receive = (msg: WriterMessage) => {
    if ('checksums' in msg) gotChecksums(Array.from({ length: rels.length }, (_, i) => msg.checksums.slice(64 * i, 64 * i + 64)));
    else if ('pending' in msg) gotPlan(msg);
    else if ('written' in msg) {
      done = true;
      gotWritten(msg.written);
    } else failed(Object.assign(new Error(msg.error.message), { code: msg.error.code, path: msg.error.path }));
  };
  writer.port.on('message', receive);
  writer.worker.once('error', failed);
  writer.worker.once('exit', (code) => {
    // Its last messages may not have been handed on yet.
    for (let m = receiveMessageOnPort(writer.port); m; m = receiveMessageOnPort(writer.port)) receive(m.message as WriterMessage);
    failed(new Error(`compiled-file writer exited with code ${code} before it was done`));
  });
  // If the caller fails before finish(), the worker's outcome must not go unhandled.
  checksums.catch(() => undefined);
  const job: WriteJob = { compiledDir, rels, sqlText: sqls.join(''), lengths: sqls.map((sql) => sql.length), claims };
  if (knownPlan) job.pending = Int32Array.from(knownPlan.pending);
  writer.port.postMessage(job);
  return {
    checksums,
    async finish() {
      const { pending, index } = await plan;
      let mine = 0;
      if (!failure) {
        try {
          mkdirSync(compiledDir, { recursive: true });
          mine = writeClaimed({ mkdirSync, writeFileSync }, path.join, compiledDir, rels, sqls, pending, claims, CHUNK, true);
        } catch (err) {
          // Let the worker stop touching the directory before reporting.
          await written;
          throw err;
        }
      }
      const theirs = await written;
      writer.port.close();
      writer.worker.unref();
      if (failure) throw failure;
      if (index !== undefined) writeFileSync(path.join(compiledDir, INDEX_FILE), index);
      return mine + theirs;
    },
  };
}
