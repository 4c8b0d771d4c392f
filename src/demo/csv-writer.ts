/**
 * Streaming CSV output. Rows are encoded into 64 KB buffers that go to the file stream whole,
 * and the generator waits for `drain` whenever a stream falls behind, so memory stays flat
 * however many people are generated.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Rng } from './random.js';

const LANE_BYTES = 1 << 16;
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

/** One CSV record, for header rows; data rows take the faster path in SourceWriter#add. */
export function csvLine(values: readonly (string | null | undefined)[]): string {
  return values.map(csvField).join(',') + '\n';
}

/**
 * A file write stream plus the bookkeeping for backpressure. Callers hand it whole encoded
 * chunks, so the stream never holds many small writes.
 */
export class OutputFile {
  private readonly stream: WriteStream;
  private waiting = false;
  private failure?: Error;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { highWaterMark: 1 << 20 });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  write(chunk: Buffer | string): void {
    if (!this.stream.write(chunk) && !this.waiting) {
      this.waiting = true;
      this.stream.once('drain', () => {
        this.waiting = false;
      });
    }
  }

  /** True when the caller should await drained(): the OS is behind, or the file failed. */
  get backedUp(): boolean {
    return this.waiting || this.failure !== undefined;
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
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
}

/**
 * Encodes rows into a fixed-size Buffer that goes to the file as one chunk when full. Keeping
 * rows as JS strings until then (one long concatenation) cost more in GC and flattening.
 */
class Lane {
  private buffer = Buffer.allocUnsafe(LANE_BYTES);
  private used = 0;

  /** Appends; returns the finished chunk when the text did not fit, with the text starting a new one. */
  append(text: string): Buffer | undefined {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; count exactly only near the end of the buffer.
    if (this.used + text.length * 3 <= LANE_BYTES || this.used + Buffer.byteLength(text) <= LANE_BYTES) {
      this.used += this.buffer.write(text, this.used, 'utf8');
      return undefined;
    }
    const full = this.used === 0 ? undefined : this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(Math.max(LANE_BYTES, Buffer.byteLength(text)));
    this.used = this.buffer.write(text, 0, 'utf8');
    return full;
  }

  take(): Buffer | undefined {
    if (this.used === 0) return undefined;
    const full = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(LANE_BYTES);
    this.used = 0;
    return full;
  }
}

/**
 * One raw source file plus its share of the ground truth. Each row goes to one of several lanes
 * picked at random, and a lane is written out whole when it fills, so a person's records end
 * up far apart in the file (real exports are not ordered by the hidden person) without holding
 * rows back or copying them again.
 */
export class SourceWriter {
  private readonly rowLanes: Lane[] = [];
  private readonly truthLanes: Lane[] = [];
  private written = 0;
  /** Reused per row to avoid allocating. */
  private readonly fields: string[];
  private readonly truthFields: string[];

  constructor(
    readonly name: string,
    readonly file: OutputFile,
    header: readonly string[],
    private readonly truthFile: OutputFile,
    private readonly rng: Rng,
    lanes: number,
    /**
     * Marks columns whose values come from a fixed token alphabet (ids, timestamps, enums) and
     * can never need quoting; skipping the check there is a noticeable share of a 1M-people run.
     */
    private readonly plain: readonly boolean[],
  ) {
    this.fields = header.map(() => '');
    this.truthFields = [name, '', ''];
    for (let i = 0; i < lanes; i++) {
      this.rowLanes.push(new Lane());
      this.truthLanes.push(new Lane());
    }
    file.write(csvLine(header));
  }

  get rows(): number {
    return this.written;
  }

  /** values[0] must be the record's primary key. */
  add(personId: string, values: readonly (string | null | undefined)[]): void {
    // Array#join builds one flat string, so encoding does not first flatten a rope of `+`s.
    const fields = this.fields;
    const last = values.length - 1;
    for (let i = 0; i <= last; i++) {
      const v = values[i];
      fields[i] = v === null || v === undefined ? '' : v === '' ? '""' : this.plain[i] ? v : csvField(v);
    }
    fields[last] += '\n';
    const truth = this.truthFields;
    truth[1] = fields[0];
    truth[2] = personId + '\n';
    const lane = this.rng.int(this.rowLanes.length);
    const rows = this.rowLanes[lane].append(fields.join(','));
    const truthChunk = this.truthLanes[lane].append(truth.join(','));
    this.written++;
    if (rows !== undefined) this.file.write(rows);
    if (truthChunk !== undefined) this.truthFile.write(truthChunk);
  }

  /** Writes out every partly filled lane; the files themselves are closed by the caller. */
  flush(): void {
    for (let lane = 0; lane < this.rowLanes.length; lane++) {
      const rows = this.rowLanes[lane].take();
      const truth = this.truthLanes[lane].take();
      if (rows !== undefined) this.file.write(rows);
      if (truth !== undefined) this.truthFile.write(truth);
    }
  }
}
