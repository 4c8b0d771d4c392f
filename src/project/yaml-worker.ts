/**
 * Parses a large project's property files partly on a worker thread.
 *
 * js-yaml is the largest single cost of loading a big project (about 100 ms for 10,000
 * models' properties), and it needs nothing from the rest of the load: a worker parses
 * property files while the main thread reads the models and parses their templates. When the
 * main thread is done with that, it parses the files the worker has not started on itself,
 * so it never waits for a worker that is slow to start or short of CPU (on a busy machine):
 * the worker takes files from the front of the list and the main thread from the back, each
 * claiming a file once (a shared array of flags). Only plain parsed values come back
 * (structured clone, a fraction of the parse time); validation stays on the main thread.
 *
 * The worker's code is inline so that it runs the same from source (tests) and from dist,
 * and it loads the very js-yaml module file the main thread uses.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import jsYaml from 'js-yaml';

/** What parsing one file gave: its text and value, or why it failed. */
export type ParsedYamlFile =
  | { text: string; value: unknown }
  | { text: string; syntaxError: { reason?: string; message?: string; line?: number; column?: number } }
  | { readError: { message: string; code?: string; path?: string } };

/** Below this many bytes of YAML, starting a worker costs more than it saves. */
export const YAML_WORKER_MIN_BYTES = 256 * 1024;

/** Reads and parses one file as schema.ts parseYamlText does; runs here and, as source text, in the worker. */
function parseFile(
  read: (file: string, encoding: 'utf8') => string,
  yaml: { load: (text: string, opts: object) => unknown; CORE_SCHEMA: unknown },
  abs: string,
  rel: string,
): ParsedYamlFile {
  let text: string;
  try {
    text = read(abs, 'utf8');
  } catch (err) {
    const e = err as { message: string; code?: string; path?: string };
    return { readError: { message: e.message, code: e.code, path: e.path } };
  }
  try {
    return { text, value: yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: rel }) };
  } catch (err) {
    const e = err as { reason?: string; message?: string; mark?: { line: number; column: number } };
    return { text, syntaxError: { reason: e.reason, message: e.message ?? String(err), line: e.mark?.line, column: e.mark?.column } };
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const parseFile = ${parseFile.toString()};
import(workerData.jsYamlUrl).then(({ default: yaml }) => {
  const { files, claims } = workerData;
  // From the front, until a file the main thread has taken (it takes them from the back).
  for (let i = 0; i < files.length && Atomics.compareExchange(claims, i, 0, 1) === 0; i++) {
    parentPort.postMessage({ i, result: parseFile(fs.readFileSync, yaml, files[i].abs, files[i].rel) });
  }
});
`;

/** The URL of the js-yaml module this module imported, for the worker to import too. */
function jsYamlUrl(): string {
  const meta = import.meta as { resolve?: (specifier: string) => string };
  return typeof meta.resolve === 'function' ? meta.resolve('js-yaml') : pathToFileURL(createRequire(import.meta.url).resolve('js-yaml')).href;
}

export interface YamlParsing {
  /**
   * Parses the files the worker has not taken, waits for those it has; one result per file,
   * in order. `help: false` leaves every file to the worker (tests use it to exercise it).
   */
  finish(opts?: { help?: boolean }): Promise<ParsedYamlFile[]>;
}

/** Starts parsing `files` (absolute path, and the project-relative path errors name). */
export function startParsingYaml(files: { abs: string; rel: string }[]): YamlParsing {
  const results: (ParsedYamlFile | undefined)[] = new Array(files.length);
  // Per file: 0 = not taken yet, 1 = taken by the worker, 2 = taken by this thread.
  const claims = new Int32Array(new SharedArrayBuffer(4 * files.length));
  let worker: Worker | undefined;
  let workerGone = false;
  let wake: (() => void) | undefined;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { files, claims, jsYamlUrl: jsYamlUrl() } });
    worker.on('message', (msg: { i: number; result: ParsedYamlFile }) => {
      results[msg.i] = msg.result;
      wake?.();
    });
    // A failed worker costs only time: whatever it did not report is parsed on this thread.
    const gone = () => {
      workerGone = true;
      wake?.();
    };
    worker.once('error', gone);
    worker.once('exit', gone);
  } catch {
    workerGone = true;
  }
  const parseHere = (i: number) => parseFile(readFileSync, jsYaml, files[i].abs, files[i].rel);
  return {
    async finish({ help = true } = {}) {
      if (help) for (let i = files.length - 1; i >= 0 && Atomics.compareExchange(claims, i, 0, 2) === 0; i--) results[i] = parseHere(i);
      // Every file is now taken (the worker takes them in order from the front); wait only for
      // those the worker took and has not reported, if any.
      const awaiting = () => {
        for (let i = 0; i < files.length; i++) if (results[i] === undefined && (!help || Atomics.load(claims, i) === 1)) return true;
        return false;
      };
      while (!workerGone && awaiting()) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      // Nothing more is needed from the worker: the process need not wait for it to wind down.
      worker?.unref();
      const all = Array.from(results, (r, i) => r ?? parseHere(i));
      // The worker's listener keeps `results`; the parsed files should not outlive their use.
      results.length = 0;
      return all;
    },
  };
}
