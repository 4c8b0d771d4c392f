/**
 * BigQuery through @google-cloud/bigquery. Every statement is a query job (jobs.insert), so each
 * one carries the target's location, maximum_bytes_billed and labels; results are read page by
 * page (getQueryResults with maxResults/pageToken), so streams hold at most one page.
 * A relation's schema is a dataset of the target's project.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { BigQuery, type Job, type JobLoadMetadata, type Query } from '@google-cloud/bigquery';
import type { AuthClient } from 'google-auth-library';
import { CdpError } from '../../../src/errors.js';
import type { ColumnInfo, ColumnSpec, Executor, Relation, RelationInfo, Row, Warehouse } from '../../../src/warehouse/types.js';
import { BigQueryDialect } from './dialect.js';
import { describeTarget, isNotFound, mapError, missingDataset, type BigQueryTarget } from './errors.js';
import { toPositional, type QueryParameter } from './params.js';
import { NdjsonEncoder, normaliseRows, type SchemaField } from './values.js';

export interface BigQueryOptions {
  project: string;
  /** The target's own dataset: it must exist (checked on open and ping) and is the default for unqualified names. */
  dataset?: string;
  /** Where jobs run and datasets are created (e.g. `US`, `EU`, `europe-west1`). */
  location?: string;
  /** A service-account JSON key; without it, application default credentials are used. */
  keyfile?: string;
  /** Queries that would bill more fail instead of running. */
  maximumBytesBilled?: number | string;
  /** Another endpoint than https://bigquery.googleapis.com (tests, private endpoints). */
  apiEndpoint?: string;
  /** An already authenticated client, instead of a key file or ADC (tests). */
  authClient?: AuthClient;
  /** Labels on every job, e.g. {team: 'growth'}; `withLabels` adds per-model ones. */
  labels?: Record<string, string>;
  /** Rows per results page for `query()`; BigQuery's own default when unset. */
  pageSize?: number;
  /** Retries of failed requests (network errors, 429, 5xx); the client's default (3) when unset. */
  maxRetries?: number;
}

const DEFAULT_BATCH_SIZE = 5000;
const BASE_LABELS = { tool: 'composable-cdp' };

/** What every BigQueryWarehouse made from one `open` shares. */
interface Session {
  bq: BigQuery;
  target: BigQueryTarget;
  maximumBytesBilled?: string;
  pageSize?: number;
}

export class BigQueryWarehouse implements Warehouse {
  readonly dialect = new BigQueryDialect();
  readonly type = 'bigquery';

  private constructor(
    private readonly session: Session,
    private readonly labels: Record<string, string>,
  ) {}

  static async open(opts: BigQueryOptions): Promise<BigQueryWarehouse> {
    if (!opts.project) {
      throw new CdpError('The BigQuery target has no project', { hint: 'Set `project:` in the target to the Google Cloud project that runs the jobs.' });
    }
    const endpoint = opts.apiEndpoint ?? 'https://bigquery.googleapis.com';
    const keyfile = opts.keyfile ? expandHome(opts.keyfile) : undefined;
    const target: BigQueryTarget = { project: opts.project, dataset: opts.dataset, location: opts.location, endpoint, keyfile };
    if (keyfile && !opts.authClient) await checkKeyfile(keyfile, target);
    const bq = new BigQuery({
      projectId: opts.project,
      location: opts.location,
      ...(opts.maxRetries !== undefined ? { retryOptions: { autoRetry: opts.maxRetries > 0, maxRetries: opts.maxRetries } } : {}),
      ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}),
      ...(opts.authClient ? { authClient: opts.authClient } : keyfile ? { keyFilename: keyfile } : {}),
    });
    const maximumBytesBilled = opts.maximumBytesBilled !== undefined && opts.maximumBytesBilled !== null ? String(opts.maximumBytesBilled) : undefined;
    const warehouse = new BigQueryWarehouse({ bq, target, maximumBytesBilled, pageSize: opts.pageSize }, { ...BASE_LABELS, ...sanitiseLabels(opts.labels ?? {}) });
    // Credentials, endpoint, permissions and the dataset are checked now, before any model runs.
    if (opts.dataset) await warehouse.checkDataset(opts.dataset);
    else await warehouse.query('SELECT 1 AS one');
    return warehouse;
  }

  /** The same connection, with more labels on every job it runs (e.g. `{cdp_model: 'users'}`). */
  withLabels(labels: Record<string, string>): BigQueryWarehouse {
    return new BigQueryWarehouse(this.session, { ...this.labels, ...sanitiseLabels(labels) });
  }

  get jobLabels(): Record<string, string> {
    return { ...this.labels };
  }

  async ping(): Promise<string> {
    const { target } = this.session;
    await this.query('SELECT 1 AS one');
    if (target.dataset) await this.checkDataset(target.dataset);
    return `BigQuery (project ${target.project}${target.location ? `, location ${target.location}` : ''})`;
  }

  /** Bytes the query would process, from a dry-run job: nothing runs and nothing is billed. */
  async estimateBytes(sql: string, params?: unknown[]): Promise<number> {
    const job = await this.createJob(sql, params, { dryRun: true });
    const bytes = (job.metadata as { statistics?: { totalBytesProcessed?: string } } | undefined)?.statistics?.totalBytesProcessed;
    return Number(bytes ?? 0);
  }

  async execute(sql: string, params?: unknown[]): Promise<void> {
    const job = await this.createJob(sql, params);
    // The first results call waits for the job and raises its error, if any.
    for await (const _page of this.pages(job, 1)) break;
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    const job = await this.createJob(sql, params);
    const rows: Row[] = [];
    for await (const page of this.pages(job, this.session.pageSize)) for (const row of page) rows.push(row);
    return rows as T[];
  }

  async *stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<T[]> {
    const job = await this.createJob(sql, params);
    // Pages are asked for at the batch size; BigQuery may return fewer (it caps pages by bytes), so batches are re-cut.
    let batch: Row[] = [];
    for await (const page of this.pages(job, batchSize)) {
      for (const row of page) {
        batch.push(row);
        if (batch.length >= batchSize) {
          yield batch as T[];
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch as T[];
  }

  /**
   * A load job from a newline-delimited JSON file: values are checked and encoded before anything
   * is sent, so a bad value loads nothing, and a load job (unlike streaming inserts) is atomic
   * and free. The table's own schema applies; columns left out are NULL.
   */
  async bulkLoad(table: Relation, columns: ColumnSpec[], rows: AsyncIterable<unknown[][]>): Promise<number> {
    const where = `${table.schema}.${table.name}`;
    const existing = await this.columns(table);
    if (existing.length === 0) throw new CdpError(`Cannot bulk load into ${where}: the table does not exist`);
    const names = new Set(existing.map((c) => c.name));
    const unknown = columns.filter((c) => !names.has(c.name)).map((c) => `"${c.name}"`);
    if (unknown.length > 0) throw new CdpError(`Cannot bulk load into ${where}: no column ${unknown.join(', ')}`);

    const dir = await mkdtemp(join(tmpdir(), 'cdp-bq-load-'));
    const file = join(dir, 'rows.ndjson');
    try {
      const count = await writeNdjson(file, new NdjsonEncoder(columns, where), rows);
      if (count === 0) return 0;
      const bqTable = this.session.bq.dataset(table.schema).table(table.name);
      try {
        await bqTable.load(file, {
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          writeDisposition: 'WRITE_APPEND',
          createDisposition: 'CREATE_NEVER',
          ...(this.session.target.location ? { location: this.session.target.location } : {}),
        } as JobLoadMetadata);
      } catch (err) {
        throw mapError(err, this.session.target, `loading ${where}`);
      }
      return count;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Statements are buffered and sent as one script when `fn` returns, so a throw before that
   * runs nothing. DML-only scripts run inside BEGIN/COMMIT TRANSACTION and are atomic. BigQuery
   * rejects DDL on permanent tables inside a transaction, so scripts with DDL (swaps: drop,
   * rename, create view) run statement by statement and stop at the first failure, without
   * undoing earlier statements. A `query` inside the transaction first sends what is buffered.
   */
  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const pending: { sql: string; params?: unknown[] }[] = [];
    const flush = async () => {
      if (pending.length > 0) await this.runScript(pending.splice(0));
    };
    const tx: Executor = {
      execute: async (sql, params) => {
        pending.push({ sql, params });
      },
      query: async <R extends Row = Row>(sql: string, params?: unknown[]) => {
        await flush();
        return this.query<R>(sql, params);
      },
    };
    const result = await fn(tx);
    await flush();
    return result;
  }

  async relations(schema: string): Promise<RelationInfo[]> {
    try {
      const [tables] = await this.session.bq.dataset(schema).getTables();
      return tables
        .map((t) => ({ schema, name: String(t.id), kind: ((t.metadata as { type?: string })?.type === 'VIEW' ? 'view' : 'table') as RelationInfo['kind'] }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw mapError(err, this.session.target, `listing dataset ${schema}`);
    }
  }

  async columns(relation: Relation): Promise<ColumnInfo[]> {
    try {
      const [meta] = await this.session.bq.dataset(relation.schema).table(relation.name).getMetadata();
      const fields = ((meta as { schema?: { fields?: SchemaField[] } }).schema?.fields ?? []) as SchemaField[];
      return fields.map((f) => ({ name: f.name, dataType: typeName(f) }));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw mapError(err, this.session.target, `reading ${relation.schema}.${relation.name}`);
    }
  }

  /** Nothing to release: every call is a stateless HTTPS request. */
  async close(): Promise<void> {}

  private async checkDataset(dataset: string): Promise<void> {
    const { bq, target } = this.session;
    let meta: { location?: string };
    try {
      [meta] = (await bq.dataset(dataset).getMetadata()) as [{ location?: string }, unknown];
    } catch (err) {
      if (isNotFound(err)) throw missingDataset(target, dataset);
      throw mapError(err, target, `checking dataset ${dataset}`);
    }
    if (target.location && meta.location && meta.location.toLowerCase() !== target.location.toLowerCase()) {
      throw new CdpError(`Dataset "${target.project}:${dataset}" is in ${meta.location}, but the target's location is ${target.location}`, {
        hint: `Jobs run in one location and can only read datasets there. Set location: ${meta.location} in the target, or use a dataset in ${target.location}.`,
      });
    }
  }

  private async runScript(statements: { sql: string; params?: unknown[] }[]): Promise<void> {
    if (statements.length === 1) return this.execute(statements[0].sql, statements[0].params);
    const parts = statements.map((s) => toPositional(s.sql, s.params));
    const body = parts.map((p) => p.sql.replace(/[\s;]+$/, '')).join(';\n');
    const atomic = statements.every((s) => !isDdl(s.sql));
    const script = atomic ? `BEGIN TRANSACTION;\n${body};\nCOMMIT TRANSACTION;` : `${body};`;
    const job = await this.submit(script, parts.flatMap((p) => p.parameters), {});
    for await (const _page of this.pages(job, 1)) break;
  }

  private createJob(sql: string, params: unknown[] | undefined, extra: { dryRun?: boolean } = {}): Promise<Job> {
    const positional = toPositional(sql, params);
    return this.submit(positional.sql, positional.parameters, extra);
  }

  private async submit(sql: string, parameters: QueryParameter[], extra: { dryRun?: boolean }): Promise<Job> {
    const { bq, target, maximumBytesBilled } = this.session;
    const config: Record<string, unknown> = {
      query: sql,
      useLegacySql: false,
      labels: this.labels,
      jobId: `cdp_${randomUUID().replace(/-/g, '')}`,
    };
    if (parameters.length > 0) {
      config.parameterMode = 'POSITIONAL';
      config.queryParameters = parameters;
    }
    if (target.location) config.location = target.location;
    if (maximumBytesBilled) config.maximumBytesBilled = maximumBytesBilled;
    if (target.dataset) config.defaultDataset = { projectId: target.project, datasetId: target.dataset };
    if (extra.dryRun) config.dryRun = true;
    try {
      const [job] = await bq.createQueryJob(config as Query);
      return job;
    } catch (err) {
      throw mapError(err, target);
    }
  }

  /** Result pages of a finished (or running) query job, converted to `Row` values. */
  private async *pages(job: Job, maxResults: number | undefined): AsyncGenerator<Row[]> {
    let pageToken: string | undefined;
    for (;;) {
      let rows: Record<string, unknown>[];
      let response: { jobComplete?: boolean; pageToken?: string; schema?: { fields?: SchemaField[] } } | undefined;
      try {
        const options = { autoPaginate: false, wrapIntegers: true, parseJSON: true, ...(maxResults ? { maxResults } : {}), ...(pageToken ? { pageToken } : {}) };
        [rows, , response] = (await job.getQueryResults(options)) as unknown as [Record<string, unknown>[], unknown, typeof response];
      } catch (err) {
        throw mapError(err, this.session.target);
      }
      // Still running: BigQuery held the call for a while; ask again.
      if (response?.jobComplete === false) continue;
      yield normaliseRows(response?.schema?.fields, rows ?? []);
      if (!response?.pageToken) return;
      pageToken = response.pageToken;
    }
  }
}

/** Statements BigQuery refuses inside a transaction: DDL on permanent objects. */
function isDdl(sql: string): boolean {
  const head = sql.replace(/^(\s|--[^\n]*\n|#[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '');
  if (/^CREATE\s+(TEMP|TEMPORARY)\b/i.test(head)) return false;
  return /^(CREATE|DROP|ALTER)\b/i.test(head);
}

function typeName(field: SchemaField): string {
  const base = field.type === 'RECORD' ? 'STRUCT' : field.type;
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}

async function writeNdjson(file: string, encoder: NdjsonEncoder, rows: AsyncIterable<unknown[][]>): Promise<number> {
  const out = createWriteStream(file);
  const closed = once(out, 'close');
  let count = 0;
  try {
    for await (const batch of rows) {
      const text = encoder.encode(batch, count);
      count += batch.length;
      if (text && !out.write(text)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await closed;
  }
  return count;
}

async function checkKeyfile(file: string, target: BigQueryTarget): Promise<void> {
  const who = describeTarget(target);
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
  } catch {
    throw new CdpError(`The key file ${file} of ${who} cannot be read`, {
      hint: 'Point `keyfile:` at a service-account JSON key (IAM > Service accounts > Keys), or remove it to use application default credentials.',
    });
  }
  let type: unknown;
  try {
    type = (JSON.parse(await readFile(file, 'utf8')) as { type?: unknown }).type;
  } catch {
    // The parse error could quote the key itself, so it is not passed on.
    throw new CdpError(`The key file ${file} of ${who} is not valid JSON`, { hint: 'Download the service account key again as JSON.' });
  }
  if (typeof type !== 'string') {
    throw new CdpError(`The key file ${file} of ${who} is not a Google credentials file (no "type")`, { hint: 'Use a service-account JSON key.' });
  }
}

function expandHome(path: string): string {
  return resolve(path.startsWith('~/') ? join(homedir(), path.slice(2)) : path);
}

/**
 * Label keys and values allow only lowercase letters, digits, `_` and `-`, up to 63 characters;
 * keys must start with a letter. Model names are mapped onto that rather than rejected.
 */
export function sanitiseLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    let key = k.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
    if (!/^[a-z]/.test(key)) key = `l_${key}`.slice(0, 63);
    out[key] = String(v).toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
  }
  return out;
}

/** Options from a `bigquery` target of cdp.config.yaml (snake_case keys). */
export function optionsFromTarget(target: Record<string, unknown>): BigQueryOptions {
  const str = (key: string) => (typeof target[key] === 'string' && target[key] !== '' ? (target[key] as string) : undefined);
  const bytes = target.maximum_bytes_billed;
  return {
    project: str('project') ?? '',
    dataset: str('dataset'),
    location: str('location'),
    keyfile: str('keyfile'),
    maximumBytesBilled: typeof bytes === 'number' || typeof bytes === 'string' ? bytes : undefined,
    apiEndpoint: str('api_endpoint'),
  };
}
