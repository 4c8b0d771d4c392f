/**
 * Streaming CSV output. Rows are encoded into 64 KB buffers that go to the file stream whole,
 * and the generator waits for `drain` whenever a stream falls behind, so memory stays flat
 * however many people are generated.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Rng } from './random.js';
import { TIMESTAMP_BYTES, writeTimestamp } from './time.js';

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

/** How SourceWriter encodes a column's values. */
export type ColumnKind = 'token' | 'text' | 'timestamp';

/** A row value: text, epoch seconds for `timestamp` columns, or null for NULL. */
export type CellValue = string | number | null | undefined;

/** Room past a lane's nominal size, so a row can always be encoded before checking whether it fit. */
const LANE_SLACK = 16 * 1024;

/**
 * Rows are encoded straight into a Buffer that goes to the file as one chunk when full, so no
 * per-row strings are built, joined and flattened (string churn and GC showed up high in
 * profiles of 1M-people runs). A row that does not fit in LANE_BYTES starts the next chunk.
 */
class Lane {
  buffer = Buffer.allocUnsafe(LANE_BYTES + LANE_SLACK);
  used = 0;

  /** Makes room for a row of at most `bound` bytes at `used`. */
  reserve(bound: number): void {
    if (this.used + bound > this.buffer.length) {
      const bigger = Buffer.allocUnsafe(this.used + bound + LANE_SLACK);
      this.buffer.copy(bigger, 0, 0, this.used);
      this.buffer = bigger;
    }
  }

  /** Call after writing a row that started at `rowStart`; returns a finished chunk, if any. */
  commit(rowStart: number, rowEnd: number): Buffer | undefined {
    if (rowEnd <= LANE_BYTES || rowStart === 0) {
      this.used = rowEnd;
      return undefined;
    }
    const full = this.buffer.subarray(0, rowStart);
    const next = Buffer.allocUnsafe(Math.max(LANE_BYTES, rowEnd - rowStart) + LANE_SLACK);
    this.buffer.copy(next, 0, rowStart, rowEnd);
    this.buffer = next;
    this.used = rowEnd - rowStart;
    return full;
  }

  take(): Buffer | undefined {
    if (this.used === 0) return undefined;
    const full = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(LANE_BYTES + LANE_SLACK);
    this.used = 0;
    return full;
  }
}

/** Writes a string's UTF-8 bytes; a byte loop is cheaper than Buffer#write for short ASCII. */
function writeString(target: Buffer, at: number, text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return at + target.write(text.slice(i), at, 'utf8');
    target[at++] = c;
  }
  return at;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * One raw source file plus its share of the ground truth. Each row goes to one of several lanes
 * picked at random, and a lane is written out whole when it fills, so a person's records end
 * up far apart in the file (real exports are not ordered by the hidden person) without holding
 * rows back or copying them again.
 */
export class SourceWriter {
  private readonly rowLanes: Lane[] = [];
  private readonly truthLanes: Lane[] = [];
  private readonly truthPrefix: string;
  private written = 0;

  constructor(
    readonly name: string,
    readonly file: OutputFile,
    header: readonly string[],
    private readonly truthFile: OutputFile,
    private readonly rng: Rng,
    lanes: number,
    /**
     * Per column: `token` values come from a fixed alphabet (ids, enums) and never need quoting,
     * `text` values are escaped, `timestamp` values are epoch seconds.
     */
    private readonly kinds: readonly ColumnKind[],
  ) {
    this.truthPrefix = `${name},`;
    for (let i = 0; i < lanes; i++) {
      this.rowLanes.push(new Lane());
      this.truthLanes.push(new Lane());
    }
    file.write(csvLine(header));
  }

  get rows(): number {
    return this.written;
  }

  /** values[0] must be the record's primary key (a token). */
  add(personId: string, values: readonly CellValue[]): void {
    const lane = this.rng.int(this.rowLanes.length);
    const rows = this.encodeRow(this.rowLanes[lane], values);
    const truth = this.encodeTruth(this.truthLanes[lane], values[0] as string, personId);
    this.written++;
    if (rows !== undefined) this.file.write(rows);
    if (truth !== undefined) this.truthFile.write(truth);
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

  private encodeRow(lane: Lane, values: readonly CellValue[]): Buffer | undefined {
    const kinds = this.kinds;
    let bound = values.length;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      // Escaping at most doubles a string plus two quotes; UTF-8 is at most 3 bytes per unit.
      if (typeof v === 'string') bound += v.length * 6 + 2;
      else if (typeof v === 'number') bound += TIMESTAMP_BYTES;
    }
    lane.reserve(bound);
    const buffer = lane.buffer;
    const start = lane.used;
    let at = start;
    for (let i = 0; i < values.length; i++) {
      if (i > 0) buffer[at++] = COMMA;
      const v = values[i];
      if (v === null || v === undefined) continue;
      if (typeof v === 'number') {
        at = writeTimestamp(buffer, at, v);
      } else if (v === '') {
        // An empty string is not NULL: see csvField.
        buffer[at++] = QUOTE;
        buffer[at++] = QUOTE;
      } else {
        at = writeString(buffer, at, kinds[i] === 'text' ? csvField(v) : v);
      }
    }
    buffer[at++] = NEWLINE;
    return lane.commit(start, at);
  }

  private encodeTruth(lane: Lane, key: string, personId: string): Buffer | undefined {
    lane.reserve((this.truthPrefix.length + key.length + personId.length) * 3 + 2);
    const start = lane.used;
    let at = writeString(lane.buffer, start, this.truthPrefix);
    at = writeString(lane.buffer, at, key);
    lane.buffer[at++] = COMMA;
    at = writeString(lane.buffer, at, personId);
    lane.buffer[at++] = NEWLINE;
    return lane.commit(start, at);
  }
}
