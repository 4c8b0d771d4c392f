/**
 * The main thread's side of reading a project's files with the load worker (load-worker.ts):
 * it hands the worker its job, takes in what the worker sends, and does itself whatever the
 * worker has not taken, from the other end of each list.
 *
 * The worker parses the property files first and then reads texts, while this thread reads texts
 * from the other end and checks each property file as it comes in. This thread parses property
 * files itself only when it has nothing else left to do (a worker slow to start, or short of CPU):
 * when both threads parse YAML, each compiles js-yaml's hot functions for itself, on the two
 * cores they share with V8's own threads, which costs more than it saves.
 */
import { readFileSync } from 'node:fs';
import { receiveMessageOnPort } from 'node:worker_threads';
import jsYaml from 'js-yaml';
import {
  parseFile, readChunk, readErrorOf, startLoadWorker, TEXT_CHUNK, TEXT_WORKER_MIN_FILES, unpackChunk, YAML_WORKER_MIN_BYTES,
  type LoadWorker, type PackedChunk, type ParsedYamlFile, type ReadError, type TextChunk, type TextScan, type TextScanner,
} from './load-worker.js';

export interface ProjectReading {
  /**
   * Calls `onText` for each of the texts (in no particular order: as they come in), with what
   * the scanner made of it when there is one, reading those the worker has not taken. Resolves
   * with how many the worker read; rejects with the first file's read error, if any, once every
   * text is in. Call it once.
   */
  readTexts(onText: (index: number, text: string, scan?: TextScan) => void): Promise<number>;
  /**
   * Calls `onFile` with each property file's result, in order, as soon as it is in, also while
   * readTexts runs (call this first to check files while texts are read); parses here those the
   * worker was not given or has not got to when nothing else is left. Rejects with what `onFile`
   * throws. Call it once.
   */
  readYaml(onFile: (index: number, result: ParsedYamlFile) => void): Promise<void>;
}

export interface ReadingOptions {
  /**
   * Scans each text as it is read. A self-contained factory (it must use nothing from outside
   * its own body): the worker runs its source text.
   */
  scanner?: () => TextScanner;
  /** Read the texts on a worker from this many files (default TEXT_WORKER_MIN_FILES). */
  textWorkerMinFiles?: number;
  /** Parse the property files on a worker from this many bytes of them (default YAML_WORKER_MIN_BYTES). */
  yamlWorkerMinBytes?: number;
  /** False: this thread reads no text and parses no property file it gave the worker (tests use it to exercise the worker). */
  help?: boolean;
}

/**
 * Starts reading `texts` (absolute paths) and parsing `yamlFiles` (absolute path, and the
 * project-relative path errors name; `yamlBytes` in all). A worker starts only for what is worth
 * it (see the thresholds); the rest is done on this thread when asked for.
 */
export function startReadingProject(texts: string[], yamlFiles: { abs: string; rel: string }[], yamlBytes: number, opts: ReadingOptions = {}): ProjectReading {
  const textChunks = Math.ceil(texts.length / TEXT_CHUNK);
  // Per chunk or file: 0 = not taken yet, 1 = taken by the worker, 2 = taken by this thread.
  const textClaims = new Int32Array(new SharedArrayBuffer(4 * textChunks));
  const yamlClaims = new Int32Array(new SharedArrayBuffer(4 * yamlFiles.length));
  const workerTexts = texts.length >= (opts.textWorkerMinFiles ?? TEXT_WORKER_MIN_FILES);
  const workerYaml = yamlBytes >= (opts.yamlWorkerMinBytes ?? YAML_WORKER_MIN_BYTES);
  // What the worker is not given is claimed for this thread from the start.
  if (!workerTexts) textClaims.fill(2);
  if (!workerYaml) yamlClaims.fill(2);
  const help = opts.help !== false;

  /** Chunks the worker has sent and readTexts has not handled yet. */
  const arrived: PackedChunk[] = [];
  const yamlResults: (ParsedYamlFile | undefined)[] = new Array(yamlFiles.length);
  let loadWorker: LoadWorker | undefined;
  // readTexts and readYaml may both be waiting for the worker: each waits for the next event.
  let nextEvent: Promise<void> | undefined;
  let fire: (() => void) | undefined;
  const event = () => {
    const f = fire;
    fire = undefined;
    nextEvent = undefined;
    f?.();
  };
  const receive = (msg: PackedChunk | { yaml: number; result: ParsedYamlFile }) => {
    if ('yaml' in msg) yamlResults[msg.yaml] = msg.result;
    else arrived.push(msg);
    event();
  };
  if (workerTexts || workerYaml) {
    try {
      loadWorker = startLoadWorker({ texts: workerTexts ? texts : [], textClaims, chunk: TEXT_CHUNK, yamlFiles: workerYaml ? yamlFiles : [], yamlClaims }, opts.scanner);
      loadWorker.onGone = event;
    } catch {
      loadWorker = undefined;
    }
  }
  const port = loadWorker?.port;
  const workerGone = () => !loadWorker || loadWorker.gone;
  let listening = false;
  /** Takes everything the worker has sent so far, without waiting. */
  const drain = () => {
    if (!port) return;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) receive(m.message);
  };
  /** Waits for the worker's next message, or its end (or for readTexts to finish). */
  const awaitWorker = async () => {
    if (!port || workerGone()) return;
    // From now on messages also come through the event loop: none is lost between the two ways.
    if (!listening) port.on('message', receive);
    listening = true;
    await (nextEvent ??= new Promise<void>((resolve) => (fire = resolve)));
  };
  let textsDone = false;
  let settled = 0;
  /** Both readTexts and readYaml are done: nothing more is needed from the worker. */
  const settle = () => {
    if (++settled < 2) return;
    port?.removeAllListeners('message');
    port?.close();
    // The process need not wait for the worker to wind down.
    loadWorker?.worker.unref();
  };

  // Property files, handed on in order as they come in.
  let onYamlFile: ((index: number, result: ParsedYamlFile) => void) | undefined;
  let nextYaml = 0;
  let yamlFailure: { error: unknown } | undefined;
  const deliverYaml = () => {
    if (!onYamlFile || yamlFailure) return;
    try {
      for (let r = yamlResults[nextYaml]; r !== undefined; r = yamlResults[nextYaml]) {
        // Not kept: the parsed files should not outlive their use.
        yamlResults[nextYaml] = undefined;
        onYamlFile(nextYaml++, r);
      }
    } catch (error) {
      // Reported by readYaml; texts go on being read meanwhile.
      yamlFailure = { error };
    }
  };
  const parseHere = (i: number) => parseFile(readFileSync, jsYaml, yamlFiles[i].abs, yamlFiles[i].rel);
  const scan = opts.scanner?.();

  return {
    async readTexts(onText) {
      let firstError: { index: number; error: ReadError } | undefined;
      const done = new Uint8Array(textChunks);
      let left = textChunks;
      const take = (c: TextChunk) => {
        if (done[c.chunk]) return;
        done[c.chunk] = 1;
        left--;
        for (let k = 0; k < c.texts.length; k++) {
          const index = c.chunk * TEXT_CHUNK + k;
          const failed = c.errors?.find((e) => e.index === index);
          if (failed) {
            if (!firstError || index < firstError.index) firstError = failed;
            continue;
          }
          const from = c.ranges ? c.ranges[2 * k] : -1;
          onText(index, c.texts[k], !c.ops ? undefined : from === -1 ? false : { ops: c.ops, from, to: c.ranges![2 * k + 1] });
        }
      };
      let fromWorker = 0;
      const takeArrived = () => {
        drain();
        for (let c = arrived.shift(); c; c = arrived.shift()) {
          fromWorker += c.lengths.length;
          take(unpackChunk(c));
        }
        deliverYaml();
      };
      const readHere = (c: number) => take(readChunk(readFileSync, texts, c, TEXT_CHUNK, scan));
      try {
        // Whatever the worker has sent is handled first; otherwise this thread reads from the back.
        for (let back = !help && workerTexts ? -1 : textChunks - 1; ; back--) {
          takeArrived();
          if (back < 0 || Atomics.compareExchange(textClaims, back, 0, 2) === 1) break;
          readHere(back);
        }
        // Every chunk is taken; wait for those the worker took and has not sent.
        while (left && !workerGone()) {
          await awaitWorker();
          takeArrived();
        }
        // The worker ended without sending some: read them here.
        takeArrived();
        for (let c = 0; left && c < textChunks; c++) if (!done[c]) readHere(c);
      } finally {
        textsDone = true;
        // readYaml may now take property files itself.
        event();
        settle();
      }
      if (firstError) throw readErrorOf(firstError.error);
      return fromWorker;
    },

    async readYaml(onFile) {
      onYamlFile = onFile;
      const n = yamlFiles.length;
      try {
        for (drain(), deliverYaml(); nextYaml < n && !yamlFailure; drain(), deliverYaml()) {
          const i = nextYaml;
          // Files the worker was not given, or did not report before it ended, are parsed here.
          if (workerGone() || Atomics.load(yamlClaims, i) === 2) {
            yamlResults[i] ??= parseHere(i);
            continue;
          }
          // Once the texts are in, nothing else is left to do: take a file from the back, unless
          // the worker has them all.
          let back = n - 1;
          while (back >= i && (yamlResults[back] !== undefined || Atomics.load(yamlClaims, back) === 2)) back--;
          if (help && textsDone && back >= i && Atomics.compareExchange(yamlClaims, back, 0, 2) === 0) yamlResults[back] = parseHere(back);
          else await awaitWorker();
        }
      } finally {
        settle();
      }
      if (yamlFailure) throw yamlFailure.error;
    },
  };
}
