/**
 * Streaming CSV output. Rows are joined into large string chunks before they reach the file
 * stream, and the generator waits for `drain` whenever a stream falls behind, so memory stays
 * flat however many people are generated.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Rng } from './random.js';

const CHUNK_BYTES = 1 << 18;
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

/**
 * One CSV record. `plain[i]` marks columns whose values come from a fixed token alphabet (ids,
 * timestamps, enums) and can never need quoting; skipping the check there is a large share of
 * the run time at 1M people.
 */
export function csvLine(values: readonly (string | null | undefined)[], plain?: readonly boolean[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const field = v === null || v === undefined ? '' : v === '' ? '""' : plain !== undefined && plain[i] ? v : csvField(v);
    line = i === 0 ? field : line + ',' + field;
  }
  return line + '\n';
}

/**
 * Encodes text straight into a fixed-size Buffer and hands full buffers to the stream. Keeping
 * output as long-lived JS strings (cons-string chunks) cost more in GC than generating the
 * data did.
 */
export class BufferedFile {
  private readonly stream: WriteStream;
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private waiting = false;
  private failure?: Error;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { highWaterMark: 4 * CHUNK_BYTES });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  write(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (this.used + text.length * 3 > this.buffer.length) {
      this.flush();
      if (text.length * 3 > this.buffer.length) this.buffer = Buffer.allocUnsafe(text.length * 3);
    }
    this.used += this.buffer.write(text, this.used, 'utf8');
  }

  /** Copies already-encoded bytes (see SourceWriter's shuffle arena). */
  writeBytes(source: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.used + length > this.buffer.length) {
      this.flush();
      if (length > this.buffer.length) this.buffer = Buffer.allocUnsafe(length);
    }
    this.used += source.copy(this.buffer, this.used, start, end);
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
    if (this.used === 0) return;
    const full = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    if (!this.stream.write(full) && !this.waiting) {
      this.waiting = true;
      this.stream.once('drain', () => {
        this.waiting = false;
      });
    }
  }
}

/** Bytes reserved per shuffled row (row plus its ground-truth line); longer rows bypass the shuffle. */
const SLOT_BYTES = 1024;

/**
 * One raw source file plus its share of the ground truth. Rows pass through a bounded shuffle
 * buffer so a person's records are not always adjacent in the file (real exports are ordered by
 * time or key, not by the hidden person). Held rows live as UTF-8 bytes in one fixed arena:
 * keeping thousands of row strings alive across garbage collections made GC the bottleneck.
 */
export class SourceWriter {
  private readonly arena: Buffer;
  private readonly rowBytes: Int32Array;
  private readonly truthBytes: Int32Array;
  private held = 0;
  private written = 0;

  constructor(
    readonly name: string,
    readonly file: BufferedFile,
    header: readonly string[],
    private readonly truthFile: BufferedFile,
    private readonly rng: Rng,
    private readonly slots: number,
    private readonly plain: readonly boolean[],
  ) {
    this.arena = Buffer.alloc(slots * SLOT_BYTES);
    this.rowBytes = new Int32Array(slots);
    this.truthBytes = new Int32Array(slots);
    file.write(csvLine(header));
  }

  get rows(): number {
    return this.written;
  }

  /** values[0] must be the record's primary key. */
  add(personId: string, values: readonly (string | null | undefined)[]): void {
    const line = csvLine(values, this.plain);
    const truth = `${this.name},${values[0]},${personId}\n`;
    if ((line.length + truth.length) * 3 > SLOT_BYTES && Buffer.byteLength(line) + Buffer.byteLength(truth) > SLOT_BYTES) {
      this.file.write(line);
      this.truthFile.write(truth);
      this.written++;
      return;
    }
    let slot: number;
    if (this.held < this.slots) {
      slot = this.held++;
    } else {
      slot = this.rng.int(this.slots);
      this.emit(slot);
    }
    const base = slot * SLOT_BYTES;
    const rowLength = this.arena.write(line, base, 'utf8');
    this.rowBytes[slot] = rowLength;
    this.truthBytes[slot] = this.arena.write(truth, base + rowLength, 'utf8');
  }

  /** Empties the shuffle buffer in random order; the file itself is closed by the caller. */
  drainBuffer(): void {
    while (this.held > 0) {
      const slot = this.rng.int(this.held);
      this.emit(slot);
      const last = --this.held;
      if (slot !== last) {
        this.arena.copy(this.arena, slot * SLOT_BYTES, last * SLOT_BYTES, last * SLOT_BYTES + this.rowBytes[last] + this.truthBytes[last]);
        this.rowBytes[slot] = this.rowBytes[last];
        this.truthBytes[slot] = this.truthBytes[last];
      }
    }
  }

  private emit(slot: number): void {
    const base = slot * SLOT_BYTES;
    const rowEnd = base + this.rowBytes[slot];
    this.file.writeBytes(this.arena, base, rowEnd);
    this.truthFile.writeBytes(this.arena, rowEnd, rowEnd + this.truthBytes[slot]);
    this.written++;
  }
}
