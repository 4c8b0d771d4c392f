/**
 * The worker that parses a large project's property files and reads its model files (the main
 * thread's side is in project-reading.ts).
 *
 * js-yaml costs some 100 ms for 10,000 models' property files, reading the model files about as
 * much in system calls, and scanning their templates half that; none of it needs anything from
 * the rest of the compile. The worker parses the property files first, then reads (and scans,
 * with the scanner it is given) the models a chunk of files at a time, while the main thread
 * reads models from the other end of the list and takes in what the worker sends. Each chunk and
 * each property file is claimed once, by one thread (a shared array of flags), so neither thread
 * waits for the other: a worker slow to start or short of CPU (on a busy machine) only does less.
 *
 * What comes back is cheap to receive: plain parsed YAML values, and a chunk's texts as one
 * string (one copy) with the lengths that split it and what the scanner made of them as typed
 * arrays (moved, not copied). Validation stays on the main thread.
 *
 * The worker's code is inline so that it runs the same from source (tests) and from dist, and it
 * loads the js-yaml package the main thread uses.
 */
import { createRequire } from 'node:module';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

/** What parsing one property file gave: its text and value, or why it failed. */
export type ParsedYamlFile =
  | { text: string; value: unknown }
  | { text: string; syntaxError: { reason?: string; message?: string; line?: number; column?: number } }
  | { readError: ReadError };

/** A failed read, as plain data: rebuilt into the error readFileSync would have thrown. */
export interface ReadError {
  message: string;
  code?: string;
  path?: string;
  errno?: number;
  syscall?: string;
}

/** Below this many bytes of YAML, starting a worker for it costs more than it saves. */
export const YAML_WORKER_MIN_BYTES = 256 * 1024;
/**
 * Below this many model files, likewise: reading and scanning one costs some 15 µs, and a
 * worker takes tens of milliseconds to start.
 */
export const TEXT_WORKER_MIN_FILES = 2000;
/** Texts are claimed and sent this many files at a time. */
export const TEXT_CHUNK = 64;

/**
 * Scans a text as it is read, into numbers appended to `out` (true), or not at all (false): see
 * compiler/template-scan.ts.
 */
export type TextScanner = (text: string, out: number[]) => boolean;

/** What scanning one text gave: its numbers, `ops` from `from` to `to`, or false when the scanner did not take it. */
export type TextScan = { ops: Int32Array; from: number; to: number } | false;

/** Reads and parses one file as schema.ts parseYamlText does; runs here and, as source text, in the worker. */
export function parseFile(
  read: (file: string, encoding: 'utf8') => string,
  yaml: { load: (text: string, opts: object) => unknown; CORE_SCHEMA: unknown },
  abs: string,
  rel: string,
): ParsedYamlFile {
  let text: string;
  try {
    text = read(abs, 'utf8');
  } catch (err) {
    const e = err as ReadError;
    return { readError: { message: e.message, code: e.code, path: e.path, errno: e.errno, syscall: e.syscall } };
  }
  try {
    return { text, value: yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: rel }) };
  } catch (err) {
    const e = err as { reason?: string; message?: string; mark?: { line: number; column: number } };
    return { text, syntaxError: { reason: e.reason, message: e.message ?? String(err), line: e.mark?.line, column: e.mark?.column } };
  }
}

/**
 * A chunk of texts, read (and scanned) by one thread. `ranges` holds each text's from and to in
 * `ops` (-1 when the scanner did not take it).
 */
export interface TextChunk {
  chunk: number;
  texts: string[];
  ops?: Int32Array;
  ranges?: Int32Array;
  errors?: { index: number; error: ReadError }[];
}

/** A chunk as the worker sends it: its texts as one string (one copy to receive), and their lengths. */
export interface PackedChunk extends Omit<TextChunk, 'texts'> {
  text: string;
  lengths: number[];
}

/** Reads (and scans) chunk `chunk` of `files`; runs here and, as source text, in the worker. */
export function readChunk(read: (file: string, opts: { encoding: 'utf8'; flag: string }) => string, files: string[], chunk: number, size: number, scan?: TextScanner): TextChunk {
  const texts: string[] = [];
  let errors: TextChunk['errors'];
  const ops: number[] = [];
  const ranges: number[] = [];
  // One options object: Node copies an options string into a new object per call.
  const opts = { encoding: 'utf8' as const, flag: 'r' };
  for (let i = chunk * size; i < Math.min((chunk + 1) * size, files.length); i++) {
    let text = '';
    try {
      text = read(files[i], opts);
    } catch (err) {
      const e = err as ReadError;
      (errors ??= []).push({ index: i, error: { message: e.message, code: e.code, path: e.path, errno: e.errno, syscall: e.syscall } });
    }
    texts.push(text);
    if (scan) {
      const from = ops.length;
      if (scan(text, ops)) ranges.push(from, ops.length);
      else ranges.push(-1, -1);
    }
  }
  return scan ? { chunk, texts, ops: Int32Array.from(ops), ranges: Int32Array.from(ranges), errors } : { chunk, texts, errors };
}

/** Packs a chunk for posting (runs, as source text, in the worker); the typed arrays are moved, not copied. */
function packChunk(c: TextChunk): { packed: PackedChunk; transfer: ArrayBuffer[] } {
  const { texts, ...rest } = c;
  const packed = { ...rest, text: texts.join(''), lengths: texts.map((t) => t.length) };
  return { packed, transfer: c.ops && c.ranges ? [c.ops.buffer as ArrayBuffer, c.ranges.buffer as ArrayBuffer] : [] };
}

/** A packed chunk's texts, as slices of the one string it came as. */
export function unpackChunk(p: PackedChunk): TextChunk {
  const { text, lengths, ...rest } = p;
  const texts: string[] = new Array(lengths.length);
  for (let k = 0, at = 0; k < lengths.length; k++) texts[k] = text.slice(at, (at += lengths[k]));
  return { ...rest, texts };
}

/** What the worker is asked to do (see startReadingProject). */
export interface LoadJob {
  texts: string[];
  textClaims: Int32Array;
  chunk: number;
  yamlFiles: { abs: string; rel: string }[];
  yamlClaims: Int32Array;
}

const workerSource = (scanner?: () => TextScanner) => `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const parseFile = ${parseFile.toString()};
const readChunk = ${readChunk.toString()};
const packChunk = ${packChunk.toString()};
const scan = ${scanner ? `(${scanner.toString()})()` : 'undefined'};
const { port, jsYamlPath, texts, textClaims, chunk, yamlFiles, yamlClaims } = workerData;
// Property files first (the main thread starts on the texts), each from the front until one the
// main thread has taken (it takes them from the back).
if (yamlFiles.length) {
  const yaml = require(jsYamlPath);
  for (let i = 0; i < yamlFiles.length && Atomics.compareExchange(yamlClaims, i, 0, 1) === 0; i++) {
    port.postMessage({ yaml: i, result: parseFile(fs.readFileSync, yaml, yamlFiles[i].abs, yamlFiles[i].rel) });
  }
}
for (let c = 0; c < textClaims.length && Atomics.compareExchange(textClaims, c, 0, 1) === 0; c++) {
  const { packed, transfer } = packChunk(readChunk(fs.readFileSync, texts, c, chunk, scan));
  port.postMessage(packed, transfer);
}
port.close();
`;

/** The js-yaml package the main thread uses, as the worker requires it (synchronously: its first job is YAML). */
function jsYamlPath(): string {
  return createRequire(import.meta.url).resolve('js-yaml');
}

/** The error readFileSync threw, rebuilt from its plain data. */
export function readErrorOf(e: ReadError): Error {
  return Object.assign(new Error(e.message), { code: e.code, path: e.path, errno: e.errno, syscall: e.syscall });
}

/** A load worker, and the port it reports on. */
export interface LoadWorker {
  worker: Worker;
  port: MessagePort;
  /** True once it has exited or failed. */
  gone: boolean;
  /** Called once when it exits or fails. */
  onGone?: () => void;
}

/** Starts a load worker on `job`. */
export function startLoadWorker(job: LoadJob, scanner?: () => TextScanner): LoadWorker {
  const channel = new MessageChannel();
  const worker = new Worker(workerSource(scanner), {
    eval: true,
    workerData: { ...job, port: channel.port2, jsYamlPath: jsYamlPath() },
    transferList: [channel.port2],
  });
  const handle: LoadWorker = { worker, port: channel.port1, gone: false };
  // A failed worker costs only time: whatever it did not report is done on the main thread.
  const gone = () => {
    if (handle.gone) return;
    handle.gone = true;
    handle.onGone?.();
  };
  worker.once('error', gone);
  worker.once('exit', gone);
  return handle;
}
