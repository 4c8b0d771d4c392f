/**
 * Streaming CSV output. Rows are joined into large string chunks before they reach the file
 * stream, and the generator waits for `drain` whenever a stream falls behind, so memory stays
 * flat however many people are generated.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Rng } from './random.js';

const CHUNK_CHARS = 1 << 17;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/**
 * RFC 4180 field. NULL is an empty field; an empty string is `""` so loaders that tell them
 * apart (PostgreSQL COPY, csv-parse) keep junk blanks distinct from missing values. Leading or
 * trailing whitespace is quoted because some readers trim unquoted fields, and that whitespace
 * is part of the mess on purpose.
 */
export function csvField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (value === '') return '""';
  if (!NEEDS_QUOTES.test(value)) return value;
  return `"${value.replace(/"/g, '""')}"`;
}

export function csvLine(values: readonly (string | null | undefined)[]): string {
  let line = csvField(values[0]);
  for (let i = 1; i < values.length; i++) line += ',' + csvField(values[i]);
  return line + '\n';
}

export class BufferedFile {
  private readonly stream: WriteStream;
  private pending = '';
  private waiting = false;
  private failure?: Error;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= CHUNK_CHARS) this.flush();
  }

  /** True when the OS has not caught up; the caller should await drained() before writing more. */
  get backedUp(): boolean {
    return this.waiting;
  }

  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.waiting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.stream.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        this.stream.off('drain', onDrain);
        reject(err);
      };
      this.stream.once('drain', onDrain);
      this.stream.once('error', onError);
    });
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }

  private flush(): void {
    if (this.pending === '') return;
    if (!this.stream.write(this.pending)) {
      this.waiting = true;
      this.stream.once('drain', () => {
        this.waiting = false;
      });
    }
    this.pending = '';
  }
}

/**
 * One raw source file plus its share of the ground truth. Rows pass through a bounded shuffle
 * buffer so a person's records are not always adjacent in the file (real exports are ordered by
 * time or key, not by the hidden person), while memory stays bounded by the buffer size.
 */
export class SourceWriter {
  private readonly lines: string[] = [];
  private readonly truth: string[] = [];
  private written = 0;

  constructor(
    readonly name: string,
    readonly file: BufferedFile,
    header: readonly string[],
    private readonly truthFile: BufferedFile,
    private readonly rng: Rng,
    private readonly bufferRows: number,
  ) {
    file.write(csvLine(header));
  }

  get rows(): number {
    return this.written;
  }

  /** values[0] must be the record's primary key. */
  add(personId: string, values: readonly (string | null | undefined)[]): void {
    const line = csvLine(values);
    const truth = `${this.name},${values[0]},${personId}\n`;
    if (this.lines.length < this.bufferRows) {
      this.lines.push(line);
      this.truth.push(truth);
      return;
    }
    const i = this.rng.int(this.bufferRows);
    this.emit(this.lines[i], this.truth[i]);
    this.lines[i] = line;
    this.truth[i] = truth;
  }

  /** Empties the shuffle buffer in random order; the file itself is closed by the caller. */
  drainBuffer(): void {
    while (this.lines.length > 0) {
      const i = this.rng.int(this.lines.length);
      const lastLine = this.lines.pop()!;
      const lastTruth = this.truth.pop()!;
      if (i < this.lines.length) {
        this.emit(this.lines[i], this.truth[i]);
        this.lines[i] = lastLine;
        this.truth[i] = lastTruth;
      } else {
        this.emit(lastLine, lastTruth);
      }
    }
  }

  private emit(line: string, truth: string): void {
    this.file.write(line);
    this.truthFile.write(truth);
    this.written++;
  }
}
