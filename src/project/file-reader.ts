/**
 * Reads the text of many files from a worker thread, in order, while the main thread parses
 * the ones already read. In a project of thousands of models, reading the files is a large
 * share of a compile; on a machine with a second core it then costs the main thread nothing
 * but receiving the strings. The worker's code is inline so that it runs the same from
 * source (tests) and from dist.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Below this many files, starting a worker costs more than reading them here. */
export const READER_THRESHOLD = 1000;

const BATCH = 200;

const READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
let batch = [];
for (const file of workerData.files) {
  let text = null;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // The main thread reads it again, to report the error as usual.
  }
  batch.push(text);
  if (batch.length === ${BATCH}) {
    parentPort.postMessage(batch);
    batch = [];
  }
}
parentPort.postMessage(batch);
`;

export interface TextReader {
  /** The text of files[i]; files are asked for in order. */
  text(i: number): string | Promise<string>;
  close(): void;
}

/** Reads here, one file at a time. */
export function syncReader(files: string[]): TextReader {
  return { text: (i) => readFileSync(files[i], 'utf8'), close: () => undefined };
}

export function workerReader(files: string[]): TextReader {
  const texts: (string | null)[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const worker = new Worker(READER_SOURCE, { eval: true, workerData: { files } });
  worker.on('message', (batch: (string | null)[]) => {
    for (const t of batch) texts.push(t);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  worker.on('exit', () => {
    if (texts.length < files.length) failure ??= new Error('file reader stopped early');
    wake?.();
  });
  const take = (i: number): string => {
    const t = texts[i];
    texts[i] = null; // the caller keeps it; let the array not pin every file
    return t ?? readFileSync(files[i], 'utf8');
  };
  return {
    text(i) {
      if (i < texts.length) return take(i);
      return (async () => {
        while (i >= texts.length) {
          // Should the worker fail, the remaining files are read here.
          if (failure) return readFileSync(files[i], 'utf8');
          await new Promise<void>((resolve) => (wake = resolve));
        }
        return take(i);
      })();
    },
    close() {
      if (texts.length < files.length) void worker.terminate();
    },
  };
}
