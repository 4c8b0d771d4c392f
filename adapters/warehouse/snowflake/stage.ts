/**
 * The stage path of Snowflake bulk loads: rows (already encoded as text by bulk.ts) are written
 * to gzip'd CSV files in a temporary directory, sent to the user's stage with PUT, and loaded with
 * COPY INTO. The user stage (`@~`) is used because every user has one and needs no grant, and
 * because, unlike table stages, it allows the COPY transformation that parses JSON text.
 *
 * CSV layout, chosen so NULL and '' stay apart: every non-NULL value is enclosed in double
 * quotes (inner quotes doubled); NULL is an empty, unenclosed field. With
 * `FIELD_OPTIONALLY_ENCLOSED_BY = '"'`, `EMPTY_FIELD_AS_NULL = TRUE` and `NULL_IF = ()` Snowflake
 * reads exactly that, and `ESCAPE_UNENCLOSED_FIELD = NONE` keeps backslashes as they are.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import type { ColumnSpec } from '../../../src/warehouse/types.js';
import type { SnowflakeDialect } from './dialect.js';

export type EncodedRow = (string | null)[];

/** Rows per staged file, so a very large load arrives as several files COPY can load in parallel. */
export const DEFAULT_ROWS_PER_FILE = 500_000;
const FILE_PATTERN = 'part_*.csv.gz';

export class StagedFiles {
  rows = 0;
  private files = 0;
  private current?: OpenFile;

  private constructor(
    readonly dir: string,
    private readonly rowsPerFile: number,
  ) {}

  static async create(rowsPerFile = DEFAULT_ROWS_PER_FILE): Promise<StagedFiles> {
    return new StagedFiles(await mkdtemp(path.join(tmpdir(), 'cdp-snowflake-load-')), Math.max(1, rowsPerFile));
  }

  /** How many files have been written. */
  get fileCount(): number {
    return this.files;
  }

  async write(rows: EncodedRow[]): Promise<void> {
    let start = 0;
    while (start < rows.length) {
      const file = this.current ?? (await this.open());
      const take = Math.min(rows.length - start, this.rowsPerFile - file.rows);
      let text = '';
      for (let r = start; r < start + take; r++) text += csvLine(rows[r]);
      if (!file.gzip.write(text)) await once(file.gzip, 'drain');
      file.rows += take;
      this.rows += take;
      start += take;
      if (file.rows >= this.rowsPerFile) await this.closeCurrent();
    }
  }

  /** Finishes the last file; call before PUT. */
  async finish(): Promise<void> {
    await this.closeCurrent();
  }

  /** `file://` source for PUT, matching every part. */
  get source(): string {
    return `file://${path.join(this.dir, FILE_PATTERN)}`;
  }

  /** The files back as rows, in batches (for the INSERT fallback when PUT is refused). */
  async *read(batchSize: number): AsyncGenerator<EncodedRow[]> {
    for (let n = 1; n <= this.files; n++) {
      const input = createGunzip();
      // pipeline() passes a read error on to the gunzip stream, so the loop below throws it.
      const reading = pipeline(createReadStream(this.partPath(n)), input).catch(() => undefined);
      input.setEncoding('utf8');
      const parser = new CsvParser();
      for await (const chunk of input as AsyncIterable<string>) {
        parser.push(chunk);
        while (parser.rows.length >= batchSize) yield parser.rows.splice(0, batchSize);
      }
      if (parser.rows.length > 0) yield parser.rows.splice(0);
      await reading;
    }
  }

  async dispose(): Promise<void> {
    if (this.current) {
      this.current.gzip.destroy();
      await this.current.written.catch(() => undefined);
      this.current = undefined;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private partPath(n: number): string {
    return path.join(this.dir, `part_${String(n).padStart(4, '0')}.csv.gz`);
  }

  private async open(): Promise<OpenFile> {
    this.files++;
    const gzip = createGzip();
    // A write error (a full disk) destroys gzip too, so a pending 'drain' wait rejects instead of hanging.
    const written = pipeline(gzip, createWriteStream(this.partPath(this.files)));
    written.catch(() => undefined);
    this.current = { gzip, written, rows: 0 };
    return this.current;
  }

  private async closeCurrent(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = undefined;
    file.gzip.end();
    await file.written;
  }
}

interface OpenFile {
  gzip: Gzip;
  /** Settles when the file is completely written (or failed). */
  written: Promise<void>;
  rows: number;
}

function csvLine(row: EncodedRow): string {
  let line = '';
  for (let c = 0; c < row.length; c++) {
    if (c > 0) line += ',';
    const v = row[c];
    if (v !== null) line += `"${v.replace(/"/g, '""')}"`;
  }
  return `${line}\n`;
}

/** Reads back what csvLine wrote; text may arrive in chunks split anywhere. */
class CsvParser {
  readonly rows: EncodedRow[] = [];
  private row: EncodedRow = [];
  private field = '';
  private quoted = false;
  private inQuotes = false;
  /** A quote seen inside quotes: either the closing one or the first of a doubled pair. */
  private pendingQuote = false;

  push(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.pendingQuote) {
        this.pendingQuote = false;
        if (ch === '"') {
          this.field += '"';
          continue;
        }
        this.inQuotes = false;
      }
      if (this.inQuotes) {
        if (ch === '"') this.pendingQuote = true;
        else this.field += ch;
      } else if (ch === '"') {
        this.inQuotes = true;
        this.quoted = true;
      } else if (ch === ',') {
        this.endField();
      } else if (ch === '\n') {
        this.endField();
        this.rows.push(this.row);
        this.row = [];
      } else {
        this.field += ch;
      }
    }
  }

  private endField(): void {
    this.row.push(this.quoted ? this.field : null);
    this.field = '';
    this.quoted = false;
  }
}

/** A fresh path in the user stage for one load. */
export function stageLocation(): string {
  return `@~/composable-cdp/${randomUUID()}/`;
}

export function putStatement(files: StagedFiles, location: string, d: SnowflakeDialect): string {
  // The files are gzip'd already: no second compression on the client.
  return `PUT ${d.quoteString(files.source)} ${location} AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP PARALLEL = 4 OVERWRITE = TRUE`;
}

/**
 * COPY INTO with a transformation: plain columns convert from text by the file format, JSON text
 * goes through PARSE_JSON (a CSV field would otherwise arrive in a VARIANT as a JSON string).
 */
export function copyStatement(target: string, columns: ColumnSpec[], location: string, d: SnowflakeDialect): string {
  const names = columns.map((c) => d.quoteIdent(c.name)).join(', ');
  const select = columns.map((c, i) => (c.type === 'json' ? `PARSE_JSON($${i + 1})` : `$${i + 1}`)).join(', ');
  const format = [
    'TYPE = CSV',
    "FIELD_DELIMITER = ','",
    "RECORD_DELIMITER = '\\n'",
    "FIELD_OPTIONALLY_ENCLOSED_BY = '\"'",
    'ESCAPE_UNENCLOSED_FIELD = NONE',
    'EMPTY_FIELD_AS_NULL = TRUE',
    'NULL_IF = ()',
    'COMPRESSION = GZIP',
    "ENCODING = 'UTF8'",
    "DATE_FORMAT = 'YYYY-MM-DD'",
    "TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF6'",
  ].join(' ');
  return `COPY INTO ${target} (${names})\nFROM (SELECT ${select} FROM ${location})\nFILE_FORMAT = (${format})\nON_ERROR = ABORT_STATEMENT PURGE = TRUE`;
}

export function removeStatement(location: string): string {
  return `REMOVE ${location}`;
}
