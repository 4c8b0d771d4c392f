/**
 * A BigQuery REST endpoint on 127.0.0.1 for protocol tests, backed by an in-memory DuckDB.
 * The real @google-cloud/bigquery client talks to it through `apiEndpoint`.
 *
 * Protocol served (paths under /bigquery/v2/projects/{project}, JSON bodies and errors in
 * Google's `{error: {code, message, errors: [{reason, message}], status}}` shape):
 *   POST queries                           jobs.query: runs, answers with the first page
 *   POST jobs                              jobs.insert: query jobs (incl. dryRun, labels,
 *                                          maximumBytesBilled, positional/named parameters)
 *   GET  jobs/{id}                         jobs.get (load-job polling)
 *   GET  queries/{id}                      getQueryResults: maxResults, pageToken, startIndex,
 *                                          formatOptions.useInt64Timestamp
 *   POST /upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart
 *                                          load jobs: multipart/related (job JSON + data),
 *                                          NEWLINE_DELIMITED_JSON or CSV, WRITE_APPEND/TRUNCATE/EMPTY,
 *                                          CREATE_IF_NEEDED with a schema; atomic
 *   GET/POST/DELETE datasets[/{d}]         datasets get/insert/delete/list
 *   GET/POST/DELETE datasets/{d}/tables[/{t}]
 *                                          tables list (TABLE/VIEW), get (schema, numRows),
 *                                          insert (schema), delete
 *   GET  datasets/{d}/tables/{t}/data      tabledata.list with paging
 *   POST datasets/{d}/tables/{t}/insertAll streaming inserts, per-row insertErrors
 * Every request needs `Authorization: Bearer <token>` (checked by `acceptToken`), else 401.
 * A dataset listed in `deniedDatasets` answers 403 accessDenied.
 *
 * SQL subset (BigQuery Standard SQL translated to DuckDB by bigquery-sql.ts; datasets are
 * DuckDB schemas, the project part of a path must be the server's project and is dropped):
 *   - identifiers: `p.d.t`, `d.t`, `d`.`t`, `p`.`d`.`t`, plain words; strings '...', "...",
 *     triple-quoted, r'' raw, b'' bytes, backslash escapes; comments -- # /* *\/
 *   - parameters: positional `?` and named `@name` (typed: BOOL, INT64, FLOAT64, NUMERIC,
 *     STRING, BYTES, DATE, DATETIME, TIMESTAMP, JSON, ARRAY<...>), substituted as literals
 *   - types: INT64/INTEGER, FLOAT64, BOOL, STRING, NUMERIC/BIGNUMERIC (DECIMAL(38,9)), BYTES,
 *     DATE, DATETIME, TIMESTAMP (TIMESTAMPTZ, session in UTC), JSON, ARRAY<T> as T[]
 *   - statements: SELECT/WITH, INSERT, UPDATE, DELETE, MERGE (with or without INTO),
 *     CREATE [OR REPLACE] TABLE [AS], CREATE VIEW, CREATE SCHEMA [IF NOT EXISTS], DROP
 *     TABLE/VIEW/SCHEMA [IF EXISTS], ALTER TABLE ... RENAME TO (ALTER VIEW ... RENAME is
 *     rejected, as BigQuery does), OPTIONS(...) clauses dropped, scripts of `;`-separated
 *     statements with BEGIN TRANSACTION / COMMIT TRANSACTION / ROLLBACK TRANSACTION (a failing
 *     statement inside a transaction rolls it back; the result is the last statement's)
 *   - functions: CURRENT_TIMESTAMP(), SHA256, TO_HEX, REGEXP_CONTAINS, REGEXP_REPLACE,
 *     GENERATE_UUID, TIMESTAMP_SUB/ADD, DATETIME_SUB/ADD, DATE_SUB, TIMESTAMP(), DATETIME(),
 *     DATE(), PARSE_JSON, TO_JSON_STRING, STRUCT(x AS k, ...), ARRAY_AGG(DISTINCT x IGNORE
 *     NULLS ORDER BY ...), GENERATE_ARRAY, COUNTIF, SAFE_CAST, `FROM UNNEST(...) AS x`,
 *     `SELECT * EXCEPT (...)`; anything else DuckDB accepts passes through unchanged
 *   - not supported: INFORMATION_SCHEMA views, scripting (DECLARE, IF, LOOP, BEGIN...END
 *     blocks), `ARRAY_AGG(... LIMIT n)`, QUALIFY differences, table wildcards, DDL on views'
 *     definitions beyond CREATE/DROP
 * Dry-run and billing: a query's bytes are estimated deterministically as the sum over the
 * tables it names of rows x columns x 8. `maximumBytesBilled` below that fails the job with
 * reason bytesBilledLimitExceeded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  DuckDBBlobValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBListType,
  type DuckDBStructType,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { MACROS, SqlSubsetError, translateScript, type Statement, type TypedParameter } from './bigquery-sql.js';

export interface BigQueryServerOptions {
  project?: string;
  /** Decides whether a bearer token is valid; default: any non-empty token. */
  acceptToken?: (token: string) => boolean;
  /** Rows per results page when the client does not say (BigQuery caps pages by size). */
  defaultPageSize?: number;
  /** Datasets whose access answers 403 accessDenied. */
  deniedDatasets?: string[];
  /** Location reported for every dataset. */
  location?: string;
}

export interface RecordedJob {
  jobId: string;
  kind: 'query' | 'load';
  query?: string;
  translated?: string[];
  labels?: Record<string, string>;
  maximumBytesBilled?: string;
  dryRun: boolean;
  location?: string;
  parameterMode?: string;
  sourceFormat?: string;
  error?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

export interface BigQueryTestServer {
  url: string;
  project: string;
  jobs: RecordedJob[];
  requests: LoggedRequest[];
  /** Runs DuckDB SQL directly (test set-up and assertions). */
  duck(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

interface Field {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REPEATED';
  fields?: Field[];
}

type Cell = { v: unknown };

interface JobResult {
  schema?: { fields: Field[] };
  rows: { f: Cell[] }[];
  /** Raw rows are kept with their DuckDB types so timestamps can be encoded per request. */
  raw: DuckDBValue[][];
  types: DuckDBType[];
  dmlAffected?: number;
}

interface JobState {
  resource: Record<string, unknown>;
  result?: JobResult;
  error?: ApiError;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  body(): unknown {
    const status = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS' }[this.code] ?? 'INTERNAL';
    return { error: { code: this.code, message: this.message, errors: [{ message: this.message, domain: 'global', reason: this.reason }], status } };
  }

  asErrorProto(): Record<string, string> {
    return { reason: this.reason, message: this.message, location: 'query' };
  }
}

export async function startBigQueryServer(opts: BigQueryServerOptions = {}): Promise<BigQueryTestServer> {
  const project = opts.project ?? 'test-project';
  const location = opts.location ?? 'US';
  const defaultPageSize = opts.defaultPageSize ?? 10_000;
  const acceptToken = opts.acceptToken ?? ((t: string) => t.length > 0);
  const denied = new Set(opts.deniedDatasets ?? []);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  for (const macro of MACROS) await conn.run(macro);
  const tmp = await mkdtemp(join(tmpdir(), 'bq-server-'));

  const jobs = new Map<string, JobState>();
  const recorded: RecordedJob[] = [];
  const requests: LoggedRequest[] = [];

  // One DuckDB connection serves every request, one statement sequence at a time, so a
  // script's transaction is never interleaved with another request's statements.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const rowsOf = async (sql: string): Promise<Record<string, unknown>[]> => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];

  async function schemaExists(d: string): Promise<boolean> {
    return (await rowsOf(`SELECT 1 FROM information_schema.schemata WHERE schema_name = ${lit(d)} AND catalog_name = current_database()`)).length > 0;
  }

  function checkDatasetAccess(d: string): void {
    if (denied.has(d)) throw new ApiError(403, 'accessDenied', `Access Denied: Dataset ${project}:${d}: Permission bigquery.datasets.get denied on dataset ${project}:${d} (or it may not exist).`);
  }

  async function requireDataset(d: string): Promise<void> {
    checkDatasetAccess(d);
    if (!(await schemaExists(d))) throw new ApiError(404, 'notFound', `Not found: Dataset ${project}:${d}`);
  }

  async function tableKind(d: string, t: string): Promise<'TABLE' | 'VIEW' | undefined> {
    const rows = await rowsOf(`SELECT table_type FROM information_schema.tables WHERE table_schema = ${lit(d)} AND table_name = ${lit(t)} AND table_catalog = current_database()`);
    if (rows.length === 0) return undefined;
    return rows[0].table_type === 'VIEW' ? 'VIEW' : 'TABLE';
  }

  async function tableFields(d: string, t: string): Promise<{ name: string; duck: string; field: Field }[]> {
    const rows = await rowsOf(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = ${lit(d)} AND table_name = ${lit(t)} AND table_catalog = current_database() ORDER BY ordinal_position`,
    );
    return rows.map((r) => ({ name: String(r.name), duck: String(r.type), field: fieldFromTypeText(String(r.name), String(r.type)) }));
  }

  async function estimateBytes(statements: Statement[]): Promise<number> {
    let bytes = 0;
    const seen = new Set<string>();
    for (const s of statements) {
      for (const [d, t] of s.tables) {
        const key = `${d}.${t}`;
        if (seen.has(key) || !(await tableKind(d, t))) continue;
        seen.add(key);
        const cols = (await tableFields(d, t)).length;
        const [{ n }] = await rowsOf(`SELECT count(*) AS n FROM ${qi(d)}.${qi(t)}`);
        bytes += Number(n) * cols * 8;
      }
    }
    return bytes;
  }

  async function runStatements(statements: Statement[]): Promise<JobResult> {
    let last: JobResult = { rows: [], raw: [], types: [] };
    let inTx = false;
    try {
      for (const s of statements) {
        if (s.kind === 'begin') {
          await conn.run('BEGIN TRANSACTION');
          inTx = true;
          continue;
        }
        if (s.kind === 'commit' || s.kind === 'rollback') {
          await conn.run(s.sql);
          inTx = false;
          continue;
        }
        for (const [d] of s.tables) checkDatasetAccess(d);
        if (inTx && ['CREATE', 'DROP', 'ALTER'].includes(s.verb) && !/^\s*CREATE\s+TEMP/i.test(s.sql)) {
          // As in BigQuery: transactions may hold DML and temporary objects only.
          throw new ApiError(400, 'invalidQuery', `${s.verb} statements on permanent objects are not supported inside a transaction`);
        }
        const reader = await conn.runAndReadAll(s.sql);
        if (s.returnsRows) {
          const types = reader.columnTypes();
          const names = reader.columnNames();
          last = { schema: { fields: names.map((n, i) => fieldOf(n, types[i])) }, rows: [], raw: reader.getRows(), types };
        } else if (['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(s.verb)) {
          last = { rows: [], raw: [], types: [], dmlAffected: reader.rowsChanged };
        } else {
          last = { rows: [], raw: [], types: [] };
        }
      }
    } catch (err) {
      if (inTx) await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    if (inTx) await conn.run('ROLLBACK').catch(() => undefined);
    return last;
  }

  /** Runs a query job's configuration; returns the job's state (errors are part of it, as in BigQuery). */
  async function runQueryJob(jobId: string, config: Record<string, unknown>, jobLocation: string | undefined): Promise<JobState> {
    const q = (config.query ?? {}) as Record<string, unknown>;
    const dryRun = Boolean(config.dryRun ?? q.dryRun);
    const record: RecordedJob = {
      jobId,
      kind: 'query',
      query: String(q.query ?? ''),
      labels: (config.labels ?? q.labels) as Record<string, string> | undefined,
      maximumBytesBilled: q.maximumBytesBilled as string | undefined,
      dryRun,
      location: jobLocation,
      parameterMode: q.parameterMode as string | undefined,
    };
    recorded.push(record);
    const resource: Record<string, unknown> = {
      kind: 'bigquery#job',
      id: `${project}:${jobLocation ?? location}.${jobId}`,
      jobReference: { projectId: project, jobId, location: jobLocation ?? location },
      configuration: { ...config, jobType: 'QUERY' },
      status: { state: 'DONE' },
      statistics: { creationTime: String(Date.now()), startTime: String(Date.now()), endTime: String(Date.now()) },
    };
    const state: JobState = { resource };
    try {
      if (q.useLegacySql === true) throw new ApiError(400, 'invalidQuery', 'Legacy SQL is not supported by this endpoint');
      const params = ((q.queryParameters ?? []) as TypedParameter[]).map((p) => ({ ...p, name: q.parameterMode === 'NAMED' || q.parameterMode === 'named' ? p.name : undefined }));
      const statements = translateScript(String(q.query ?? ''), params, project);
      record.translated = statements.map((s) => s.sql);
      const bytes = await estimateBytes(statements);
      const stats = resource.statistics as Record<string, unknown>;
      stats.totalBytesProcessed = String(bytes);
      stats.query = { totalBytesProcessed: String(bytes), totalBytesBilled: String(dryRun ? 0 : bytes), statementType: statements.at(-1)?.verb };
      if (dryRun) {
        // Validated by running inside a transaction that is always rolled back.
        await conn.run('BEGIN TRANSACTION');
        try {
          for (const s of statements) if (s.kind === 'sql') await conn.run(s.sql);
        } finally {
          await conn.run('ROLLBACK');
        }
        jobs.set(jobId, state);
        return state;
      }
      if (q.maximumBytesBilled !== undefined && bytes > Number(q.maximumBytesBilled)) {
        throw new ApiError(400, 'bytesBilledLimitExceeded', `Query exceeded limit for bytes billed: ${q.maximumBytesBilled}. ${bytes} or higher required.`);
      }
      state.result = await runStatements(statements);
    } catch (err) {
      state.error = asApiError(err);
      record.error = state.error.message;
      resource.status = { state: 'DONE', errorResult: state.error.asErrorProto(), errors: [state.error.asErrorProto()] };
    }
    jobs.set(jobId, state);
    return state;
  }

  function page(state: JobState, query: Record<string, string>, maxResultsBody?: number): Record<string, unknown> {
    const ref = state.resource.jobReference;
    if (state.error) throw state.error;
    const result = state.result!;
    const start = query.pageToken ? Number(query.pageToken) : Number(query.startIndex ?? 0);
    const max = query.maxResults !== undefined ? Number(query.maxResults) : maxResultsBody ?? defaultPageSize;
    const end = Math.min(result.raw.length, start + max);
    const useInt64 = query['formatOptions.useInt64Timestamp'] === 'true';
    const body: Record<string, unknown> = { kind: 'bigquery#getQueryResultsResponse', jobReference: ref, jobComplete: true, totalRows: String(result.raw.length), cacheHit: false };
    if (result.schema) {
      body.schema = result.schema;
      body.rows = result.raw.slice(start, end).map((row) => ({ f: row.map((v, i) => ({ v: encodeCell(v, result.types[i], useInt64) })) }));
      if (end < result.raw.length) body.pageToken = String(end);
    }
    if (result.dmlAffected !== undefined) body.numDmlAffectedRows = String(result.dmlAffected);
    return body;
  }

  async function loadJob(meta: Record<string, unknown>, data: Buffer): Promise<JobState> {
    const config = (meta.configuration ?? {}) as Record<string, unknown>;
    const load = (config.load ?? {}) as Record<string, unknown>;
    const ref = (meta.jobReference ?? {}) as { jobId?: string; location?: string };
    const jobId = ref.jobId ?? randomUUID();
    const dest = (load.destinationTable ?? {}) as { datasetId: string; tableId: string; projectId?: string };
    const format = String(load.sourceFormat ?? 'CSV');
    const record: RecordedJob = { jobId, kind: 'load', dryRun: false, location: ref.location, sourceFormat: format, labels: config.labels as Record<string, string> | undefined };
    recorded.push(record);
    const resource: Record<string, unknown> = {
      kind: 'bigquery#job',
      id: `${project}:${ref.location ?? location}.${jobId}`,
      jobReference: { projectId: project, jobId, location: ref.location ?? location },
      configuration: { ...config, jobType: 'LOAD' },
      status: { state: 'DONE' },
      statistics: { load: { outputRows: '0' } },
    };
    const state: JobState = { resource };
    const file = join(tmp, `${jobId}.${format === 'CSV' ? 'csv' : 'ndjson'}`);
    let inTx = false;
    try {
      await requireDataset(dest.datasetId);
      const target = `${qi(dest.datasetId)}.${qi(dest.tableId)}`;
      await conn.run('BEGIN TRANSACTION');
      inTx = true;
      if (!(await tableKind(dest.datasetId, dest.tableId))) {
        const schema = (load.schema as { fields?: Field[] } | undefined)?.fields;
        if (load.createDisposition === 'CREATE_NEVER' || !schema) throw new ApiError(404, 'notFound', `Not found: Table ${project}:${dest.datasetId}.${dest.tableId}`);
        await conn.run(`CREATE TABLE ${target} (${schema.map((f) => `${qi(f.name)} ${duckTypeOfField(f)}`).join(', ')})`);
      }
      const columns = await tableFields(dest.datasetId, dest.tableId);
      if (load.writeDisposition === 'WRITE_TRUNCATE') await conn.run(`DELETE FROM ${target}`);
      if (load.writeDisposition === 'WRITE_EMPTY') {
        const [{ n }] = await rowsOf(`SELECT count(*) AS n FROM ${target}`);
        if (Number(n) > 0) throw new ApiError(409, 'duplicate', `Already Exists: Table ${project}:${dest.datasetId}.${dest.tableId}`);
      }
      await writeFile(file, data);
      const spec = `{${columns.map((c) => `${lit(c.name)}: ${lit(c.duck)}`).join(', ')}}`;
      const reader =
        format === 'NEWLINE_DELIMITED_JSON'
          ? `read_json(${lit(file)}, format = 'newline_delimited', columns = ${spec})`
          : format === 'CSV'
            ? `read_csv(${lit(file)}, header = ${Number(load.skipLeadingRows ?? 0) > 0}, columns = ${spec}, quote = '"', escape = '"')`
            : undefined;
      if (!reader) throw new ApiError(400, 'invalid', `Source format ${format} is not supported by this endpoint`);
      const before = Number((await rowsOf(`SELECT count(*) AS n FROM ${target}`))[0].n);
      await conn.run(`INSERT INTO ${target} SELECT * FROM ${reader}`);
      const after = Number((await rowsOf(`SELECT count(*) AS n FROM ${target}`))[0].n);
      await conn.run('COMMIT');
      inTx = false;
      (resource.statistics as Record<string, unknown>).load = { outputRows: String(after - before), inputFiles: '1', inputFileBytes: String(data.length) };
    } catch (err) {
      if (inTx) await conn.run('ROLLBACK').catch(() => undefined);
      state.error = asApiError(err);
      record.error = state.error.message;
      resource.status = { state: 'DONE', errorResult: state.error.asErrorProto(), errors: [state.error.asErrorProto()] };
    } finally {
      await rm(file, { force: true });
    }
    jobs.set(jobId, state);
    return state;
  }

  async function insertAll(d: string, t: string, body: { rows?: { json: Record<string, unknown> }[] }): Promise<unknown> {
    await requireDataset(d);
    if (!(await tableKind(d, t))) throw new ApiError(404, 'notFound', `Not found: Table ${project}:${d}.${t}`);
    const columns = await tableFields(d, t);
    const insertErrors: unknown[] = [];
    for (const [index, row] of (body.rows ?? []).entries()) {
      const unknown = Object.keys(row.json).filter((k) => !columns.some((c) => c.name === k));
      if (unknown.length) {
        insertErrors.push({ index, errors: [{ reason: 'invalid', location: unknown[0], message: 'no such field.' }] });
        continue;
      }
      const values = columns.map((c) => {
        const v = row.json[c.name];
        if (v === undefined || v === null) return 'NULL';
        const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
        return `CAST(${lit(text)} AS ${c.duck})`;
      });
      try {
        await conn.run(`INSERT INTO ${qi(d)}.${qi(t)} VALUES (${values.join(', ')})`);
      } catch (err) {
        insertErrors.push({ index, errors: [{ reason: 'invalid', message: (err as Error).message.split('\n')[0] }] });
      }
    }
    return insertErrors.length ? { kind: 'bigquery#tableDataInsertAllResponse', insertErrors } : { kind: 'bigquery#tableDataInsertAllResponse' };
  }

  async function tableResource(d: string, t: string): Promise<Record<string, unknown>> {
    await requireDataset(d);
    const kind = await tableKind(d, t);
    if (!kind) throw new ApiError(404, 'notFound', `Not found: Table ${project}:${d}.${t}`);
    const fields = (await tableFields(d, t)).map((c) => c.field);
    const [{ n }] = kind === 'TABLE' ? await rowsOf(`SELECT count(*) AS n FROM ${qi(d)}.${qi(t)}`) : [{ n: 0 }];
    return {
      kind: 'bigquery#table',
      id: `${project}:${d}.${t}`,
      tableReference: { projectId: project, datasetId: d, tableId: t },
      type: kind,
      schema: { fields },
      numRows: String(n),
      location,
    };
  }

  async function route(req: IncomingMessage, body: Buffer, url: URL): Promise<{ status: number; body: unknown }> {
    const query = Object.fromEntries(url.searchParams.entries());
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!acceptToken(token)) throw new ApiError(401, 'authError', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    const json = () => (body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {});

    const upload = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(url.pathname);
    if (upload && req.method === 'POST') {
      checkProject(upload[1]);
      if (query.uploadType !== 'multipart') throw new ApiError(400, 'invalid', `uploadType ${query.uploadType} is not supported by this endpoint`);
      const { meta, data } = parseMultipart(req.headers['content-type'] ?? '', body);
      const state = await loadJob(meta, data);
      return { status: 200, body: state.resource };
    }

    const m = /^\/bigquery\/v2\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) throw new ApiError(404, 'notFound', `Not found: ${url.pathname}`);
    checkProject(m[1]);
    const rest = m[2] ?? '';
    const method = req.method ?? 'GET';
    let r: RegExpExecArray | null;

    if (rest === '/queries' && method === 'POST') {
      const b = json();
      const jobId = `job_${randomUUID().replace(/-/g, '')}`;
      const { maxResults, timeoutMs: _t, location: loc, dryRun, labels, requestId: _r, formatOptions, ...queryConfig } = b;
      const state = await runQueryJob(jobId, { query: queryConfig, dryRun, labels }, loc as string | undefined);
      if (state.error) throw state.error;
      if (dryRun) return { status: 200, body: { kind: 'bigquery#queryResponse', jobReference: state.resource.jobReference, jobComplete: true, totalBytesProcessed: (state.resource.statistics as Record<string, string>).totalBytesProcessed } };
      const useInt64 = (formatOptions as { useInt64Timestamp?: boolean } | undefined)?.useInt64Timestamp === true;
      const first = page(state, { ...(useInt64 ? { 'formatOptions.useInt64Timestamp': 'true' } : {}) }, maxResults !== undefined ? Number(maxResults) : undefined);
      return { status: 200, body: { ...first, kind: 'bigquery#queryResponse' } };
    }
    if ((r = /^\/queries\/([^/]+)$/.exec(rest)) && method === 'GET') {
      const state = jobs.get(r[1]);
      if (!state) throw new ApiError(404, 'notFound', `Not found: Job ${project}:${r[1]}`);
      return { status: 200, body: page(state, query) };
    }
    if (rest === '/jobs' && method === 'POST') {
      const b = json() as { configuration?: Record<string, unknown>; jobReference?: { jobId?: string; location?: string } };
      const jobId = b.jobReference?.jobId ?? `job_${randomUUID().replace(/-/g, '')}`;
      if (jobs.has(jobId)) throw new ApiError(409, 'duplicate', `Already Exists: Job ${project}:${jobId}`);
      if (!b.configuration?.query) throw new ApiError(400, 'invalid', 'Only query jobs can be inserted without an upload');
      const state = await runQueryJob(jobId, b.configuration, b.jobReference?.location);
      return { status: 200, body: state.resource };
    }
    if ((r = /^\/jobs\/([^/]+)$/.exec(rest)) && method === 'GET') {
      const state = jobs.get(r[1]);
      if (!state) throw new ApiError(404, 'notFound', `Not found: Job ${project}:${r[1]}`);
      return { status: 200, body: state.resource };
    }
    if (rest === '/datasets' && method === 'GET') {
      const rows = await rowsOf(`SELECT schema_name AS d FROM information_schema.schemata WHERE catalog_name = current_database() AND schema_name NOT IN ('main', 'information_schema', 'pg_catalog') ORDER BY 1`);
      return { status: 200, body: { kind: 'bigquery#datasetList', datasets: rows.map((x) => ({ kind: 'bigquery#dataset', id: `${project}:${x.d}`, datasetReference: { projectId: project, datasetId: x.d }, location })) } };
    }
    if (rest === '/datasets' && method === 'POST') {
      const b = json() as { datasetReference?: { datasetId?: string } };
      const d = b.datasetReference?.datasetId ?? '';
      checkDatasetAccess(d);
      if (await schemaExists(d)) throw new ApiError(409, 'duplicate', `Already Exists: Dataset ${project}:${d}`);
      await conn.run(`CREATE SCHEMA ${qi(d)}`);
      return { status: 200, body: datasetResource(d) };
    }
    if ((r = /^\/datasets\/([^/]+)$/.exec(rest))) {
      const d = decodeURIComponent(r[1]);
      await requireDataset(d);
      if (method === 'GET') return { status: 200, body: datasetResource(d) };
      if (method === 'DELETE') {
        await conn.run(`DROP SCHEMA ${qi(d)}${query.deleteContents === 'true' ? ' CASCADE' : ''}`);
        return { status: 204, body: undefined };
      }
    }
    if ((r = /^\/datasets\/([^/]+)\/tables$/.exec(rest))) {
      const d = decodeURIComponent(r[1]);
      await requireDataset(d);
      if (method === 'GET') {
        const rows = await rowsOf(`SELECT table_name AS t, table_type AS k FROM information_schema.tables WHERE table_schema = ${lit(d)} AND table_catalog = current_database() ORDER BY 1`);
        const tables = rows.map((x) => ({ kind: 'bigquery#table', id: `${project}:${d}.${x.t}`, tableReference: { projectId: project, datasetId: d, tableId: x.t }, type: x.k === 'VIEW' ? 'VIEW' : 'TABLE' }));
        return { status: 200, body: { kind: 'bigquery#tableList', tables, totalItems: tables.length } };
      }
      if (method === 'POST') {
        const b = json() as { tableReference?: { tableId?: string }; schema?: { fields?: Field[] } };
        const t = b.tableReference?.tableId ?? '';
        if (await tableKind(d, t)) throw new ApiError(409, 'duplicate', `Already Exists: Table ${project}:${d}.${t}`);
        const fields = b.schema?.fields ?? [];
        await conn.run(`CREATE TABLE ${qi(d)}.${qi(t)} (${fields.map((f) => `${qi(f.name)} ${duckTypeOfField(f)}`).join(', ')})`);
        return { status: 200, body: await tableResource(d, t) };
      }
    }
    if ((r = /^\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(rest))) {
      const [d, t] = [decodeURIComponent(r[1]), decodeURIComponent(r[2])];
      if (method === 'GET') return { status: 200, body: await tableResource(d, t) };
      if (method === 'DELETE') {
        const kind = (await tableResource(d, t)).type;
        await conn.run(`DROP ${kind === 'VIEW' ? 'VIEW' : 'TABLE'} ${qi(d)}.${qi(t)}`);
        return { status: 204, body: undefined };
      }
    }
    if ((r = /^\/datasets\/([^/]+)\/tables\/([^/]+)\/data$/.exec(rest)) && method === 'GET') {
      const [d, t] = [decodeURIComponent(r[1]), decodeURIComponent(r[2])];
      await tableResource(d, t);
      const state: JobState = { resource: {}, result: await runStatements(translateScript(`SELECT * FROM \`${d}.${t}\``, [], project)) };
      const p = page(state, query);
      return { status: 200, body: { kind: 'bigquery#tableDataList', totalRows: p.totalRows, rows: p.rows ?? [], pageToken: p.pageToken } };
    }
    if ((r = /^\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/.exec(rest)) && method === 'POST') {
      return { status: 200, body: await insertAll(decodeURIComponent(r[1]), decodeURIComponent(r[2]), json() as { rows?: { json: Record<string, unknown> }[] }) };
    }
    throw new ApiError(404, 'notFound', `Not found: ${method} ${url.pathname}`);
  }

  function datasetResource(d: string): Record<string, unknown> {
    return { kind: 'bigquery#dataset', id: `${project}:${d}`, datasetReference: { projectId: project, datasetId: d }, location };
  }

  function checkProject(p: string): void {
    if (decodeURIComponent(p) !== project) throw new ApiError(404, 'notFound', `Not found: Project ${decodeURIComponent(p)}`);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams.entries()) });
      serial(() => route(req, Buffer.concat(chunks), url))
        .then(({ status, body }) => send(res, status, body))
        .catch((err: unknown) => {
          const api = asApiError(err);
          send(res, api.code, api.body());
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    project,
    jobs: recorded,
    requests,
    duck: (sql) => serial(() => rowsOf(sql)),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      conn.closeSync();
      instance.closeSync();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  if (err instanceof SqlSubsetError) return new ApiError(400, 'invalidQuery', message);
  if (/^(Catalog Error|Binder Error).*(does not exist|not found)/i.test(message)) return new ApiError(404, 'notFound', `Not found: ${message}`);
  if (/^(Parser|Binder|Catalog|Conversion|Invalid Input|Constraint|Out of Range|Not implemented|Dependency|Transaction) Error/i.test(message)) return new ApiError(400, 'invalidQuery', message);
  return new ApiError(500, 'internalError', message);
}

/** multipart/related: part 1 is the job resource (JSON), part 2 the data. */
function parseMultipart(contentType: string, body: Buffer): { meta: Record<string, unknown>; data: Buffer } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/^multipart\/related/i.test(contentType) || !boundary) throw new ApiError(400, 'invalid', `Expected multipart/related, got ${contentType || 'no content type'}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    parts.push(body.subarray(start, next));
    at = next;
  }
  const content = parts.map((p) => {
    const split = p.indexOf('\r\n\r\n');
    let data = p.subarray(split + 4);
    if (data.subarray(-2).toString() === '\r\n') data = data.subarray(0, -2);
    return data;
  });
  if (content.length < 2) throw new ApiError(400, 'invalid', `Expected 2 multipart parts, got ${content.length}`);
  return { meta: JSON.parse(content[0].toString('utf8')) as Record<string, unknown>, data: content[1] };
}

function qi(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function lit(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function fieldOf(name: string, type: DuckDBType): Field {
  if (type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY) {
    const inner = fieldOf(name, (type as DuckDBListType).valueType);
    return { ...inner, mode: 'REPEATED' };
  }
  if (type.typeId === DuckDBTypeId.STRUCT) {
    const s = type as DuckDBStructType;
    return { name, type: 'RECORD', mode: 'NULLABLE', fields: s.entryNames.map((n, i) => fieldOf(n, s.entryTypes[i])) };
  }
  return { name, type: scalarTypeOf(type), mode: 'NULLABLE' };
}

function scalarTypeOf(type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
      return 'INTEGER';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT';
    case DuckDBTypeId.DECIMAL:
      return 'NUMERIC';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'TIMESTAMP';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'DATETIME';
    case DuckDBTypeId.TIME:
      return 'TIME';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    default:
      return type.alias === 'JSON' ? 'JSON' : 'STRING';
  }
}

/** A column of information_schema (`BIGINT`, `DECIMAL(38,9)`, `VARCHAR[]`, `JSON`) as a BigQuery field. */
function fieldFromTypeText(name: string, text: string): Field {
  const t = text.toUpperCase();
  if (t.endsWith('[]')) return { ...fieldFromTypeText(name, text.slice(0, -2)), mode: 'REPEATED' };
  const type =
    /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(t) ? 'INTEGER'
    : /^(FLOAT|DOUBLE|REAL)$/.test(t) ? 'FLOAT'
    : t.startsWith('DECIMAL') ? 'NUMERIC'
    : t === 'BOOLEAN' ? 'BOOLEAN'
    : t === 'DATE' ? 'DATE'
    : t === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMP'
    : t.startsWith('TIMESTAMP') ? 'DATETIME'
    : t === 'TIME' ? 'TIME'
    : t === 'BLOB' ? 'BYTES'
    : t === 'JSON' ? 'JSON'
    : t.startsWith('STRUCT') ? 'RECORD'
    : 'STRING';
  return { name, type, mode: 'NULLABLE' };
}

function duckTypeOfField(f: { type: string; mode?: string }): string {
  const base =
    { INTEGER: 'BIGINT', INT64: 'BIGINT', FLOAT: 'DOUBLE', FLOAT64: 'DOUBLE', NUMERIC: 'DECIMAL(38, 9)', BIGNUMERIC: 'DECIMAL(38, 9)', BOOLEAN: 'BOOLEAN', BOOL: 'BOOLEAN', STRING: 'VARCHAR', BYTES: 'BLOB', DATE: 'DATE', DATETIME: 'TIMESTAMP', TIMESTAMP: 'TIMESTAMPTZ', TIME: 'TIME', JSON: 'JSON' }[f.type] ??
    'VARCHAR';
  return f.mode === 'REPEATED' ? `${base}[]` : base;
}

/** One result cell in the REST encoding: every scalar is a string, arrays are [{v}], records {f: [{v}]}. */
function encodeCell(value: DuckDBValue, type: DuckDBType, useInt64Timestamp: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof DuckDBListValue) {
    const inner = (type as DuckDBListType).valueType;
    return value.items.map((item) => ({ v: encodeCell(item, inner, useInt64Timestamp) }));
  }
  if (value instanceof DuckDBStructValue) {
    const s = type as DuckDBStructType;
    return { f: s.entryNames.map((n, i) => ({ v: encodeCell(value.entries[n], s.entryTypes[i], useInt64Timestamp) })) };
  }
  if (value instanceof DuckDBTimestampTZValue) {
    return useInt64Timestamp ? value.micros.toString() : (Number(value.micros) / 1e6).toString();
  }
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('base64');
  if (type.typeId === DuckDBTypeId.TIMESTAMP) return String(value).replace(' ', 'T');
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return String(value);
}
