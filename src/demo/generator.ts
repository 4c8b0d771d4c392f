/**
 * Demo data generator: messy raw source CSVs for a synthetic population plus a ground-truth
 * file naming the true person behind every record, so identity resolution can be scored.
 *
 * Deterministic for a given (people, seed): people are generated one at a time from a seeded
 * PRNG and streamed out, so output is byte-identical across runs and memory does not grow
 * with the population.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CdpError } from '../errors.js';
import { csvLine, OutputFile, SourceWriter, type ColumnKind } from './csv-writer.js';
import { buildCompanies, PeopleFactory } from './people.js';
import { Rng } from './random.js';
import { RecordFactory, type SourceWriters } from './records.js';
import { DEMO_SOURCES, DEMO_TRUTH_COLUMNS, type DemoSourceName } from './sources.js';

export { DEMO_SOURCES, DEMO_TRUTH_COLUMNS } from './sources.js';
export type { DemoColumn, DemoColumnType, DemoSource, DemoSourceName } from './sources.js';
export { REFERENCE_DATE } from './time.js';

export interface DemoDataOptions {
  people: number;
  seed?: number;
  outDir: string;
  /** Defaults to `<outDir>/../ground_truth.csv`. */
  truthFile?: string;
}

export interface DemoFileSummary {
  /** Source name, e.g. `raw_orders`. */
  name: DemoSourceName;
  path: string;
  /** Data rows, excluding the header. */
  rows: number;
}

export interface DemoDataSummary {
  people: number;
  seed: number;
  files: DemoFileSummary[];
  truthFile: string;
  truthRows: number;
}

export const DEFAULT_DEMO_SEED = 42;
export const MAX_DEMO_PEOPLE = 10_000_000;
/** Lanes per file that interleave different people's records (see SourceWriter). */
const SHUFFLE_LANES = 16;

/** Stream identifiers for the independent PRNGs; changing them changes every output byte. */
const STREAM_PEOPLE = 0;
const STREAM_SHUFFLE = 100;

/**
 * Columns the generator fills only from fixed token alphabets (generated ids, timestamps,
 * enums, junk tokens without separators), so their values never need CSV quoting.
 */
const TOKEN_COLUMNS = new Set([
  'contact_id', 'customer_id', 'crm_account_id', 'order_id', 'event_id', 'anonymous_id', 'user_id', 'ticket_id',
  'subscription_id', 'amount', 'currency', 'status', 'event_type', 'channel', 'list_name', 'consent_marketing', 'source',
]);

const WRITER_KEYS: Record<DemoSourceName, keyof SourceWriters> = {
  raw_crm_contacts: 'contacts',
  raw_orders: 'orders',
  raw_events: 'events',
  raw_support_tickets: 'tickets',
  raw_email_subscriptions: 'subscriptions',
};

function validate(opts: DemoDataOptions): number {
  const location = { file: '<demo options>' };
  if (!Number.isInteger(opts.people) || opts.people < 1 || opts.people > MAX_DEMO_PEOPLE) {
    throw new CdpError(`people must be a whole number between 1 and ${MAX_DEMO_PEOPLE}, got ${opts.people}`, {
      location: { ...location, key: 'people' },
      hint: 'Try 1000 for a quick demo or 1000000 for a load test.',
    });
  }
  const seed = opts.seed ?? DEFAULT_DEMO_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new CdpError(`seed must be a whole number between 0 and 4294967295, got ${seed}`, {
      location: { ...location, key: 'seed' },
    });
  }
  if (!opts.outDir) throw new CdpError('outDir is required', { location: { ...location, key: 'outDir' } });
  return seed;
}

export async function generateDemoData(opts: DemoDataOptions): Promise<DemoDataSummary> {
  const seed = validate(opts);
  const outDir = resolve(opts.outDir);
  const truthPath = resolve(opts.truthFile ?? join(dirname(outDir), 'ground_truth.csv'));
  try {
    await mkdir(outDir, { recursive: true });
    await mkdir(dirname(truthPath), { recursive: true });
  } catch (err) {
    throw new CdpError(`cannot create demo output directory: ${(err as Error).message}`, {
      location: { file: outDir },
      hint: 'Choose an outDir you can write to.',
      cause: err,
    });
  }

  const truth = new OutputFile(truthPath);
  truth.write(csvLine(DEMO_TRUTH_COLUMNS.map((c) => c.name)));
  const files: OutputFile[] = [truth];
  const writers = {} as SourceWriters;
  const ordered: SourceWriter[] = [];
  DEMO_SOURCES.forEach((source, i) => {
    const file = new OutputFile(join(outDir, source.file));
    const writer = new SourceWriter(
      source.name,
      file,
      source.columns.map((c) => c.name),
      truth,
      new Rng(seed, STREAM_SHUFFLE + i),
      SHUFFLE_LANES,
      source.columns.map((c): ColumnKind => (c.type === 'timestamp' ? 'timestamp' : TOKEN_COLUMNS.has(c.name) ? 'token' : 'text')),
    );
    files.push(file);
    ordered.push(writer);
    writers[WRITER_KEYS[source.name]] = writer;
  });

  try {
    const rng = new Rng(seed, STREAM_PEOPLE);
    const companies = buildCompanies(opts.people, rng);
    const peopleFactory = new PeopleFactory(opts.people, rng, companies);
    const records = new RecordFactory(opts.people, rng, writers);
    for (let i = 0; i < opts.people; i++) {
      records.emit(peopleFactory.next(i));
      // Checking every person is cheap; awaiting only when a stream is behind (or has failed,
      // which makes drained() reject) keeps the loop fast.
      if (files.some((f) => f.backedUp)) await Promise.all(files.map((f) => f.drained()));
    }
    for (const writer of ordered) {
      writer.flush();
      if (files.some((f) => f.backedUp)) await Promise.all(files.map((f) => f.drained()));
    }
  } finally {
    // Always close the handles; a write error surfaces from close() below or from drained() above.
    await Promise.allSettled(files.map((f) => f.close())).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        throw new CdpError(`writing demo data failed: ${(failed.reason as Error).message}`, {
          location: { file: outDir },
          cause: failed.reason,
        });
      }
    });
  }

  const fileSummaries: DemoFileSummary[] = ordered.map((w, i) => ({
    name: DEMO_SOURCES[i].name,
    path: w.file.path,
    rows: w.rows,
  }));
  return {
    people: opts.people,
    seed,
    files: fileSummaries,
    truthFile: truthPath,
    truthRows: fileSummaries.reduce((sum, f) => sum + f.rows, 0),
  };
}
