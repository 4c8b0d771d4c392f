/**
 * A stand-in for Meta's Custom Audience users endpoint (POST/DELETE /{version}/{audience_id}/users)
 * that holds the connector to the documented contract, and to ours: no plain-text PII, ever.
 * Every request is validated; a breach is answered with 400 and recorded in state.violations,
 * so a test can assert there were none. Accepted rows change the audience in state.
 */
import type http from 'node:http';
import { FaultQueue, serve, sendJson, SHA256_HEX, type Fault } from './faults.js';

const HASHED = new Set(['EMAIL', 'PHONE', 'FN', 'LN']);
const KNOWN = new Set([...HASHED, 'EXTERN_ID']);

export interface MetaServerOptions {
  audienceId: string;
  accessToken: string;
  apiVersion?: string;
  /** Rows per request; Meta documents 10,000. */
  maxRows?: number;
  /**
   * Hashes the test expects per column. The server cannot see inside a hash, so a PHONE hash
   * outside this list means the wrong normalisation (e.g. a kept `+`).
   */
  expected?: Partial<Record<'EMAIL' | 'PHONE' | 'FN' | 'LN', string[]>>;
}

export type MetaFault =
  | Fault
  /** From now on, rows containing one of these values are counted invalid and reported as samples. */
  | { kind: 'invalid'; values: string[]; reason?: string };

export interface MetaRequest {
  method: string;
  rows: number;
  schema: string[];
  sessionId: number;
  batchSeq: number;
  tokenIn: 'body' | 'query';
  body: string;
}

export interface MetaState {
  /** Audience membership, by hashed email / hashed phone / external id. */
  emails: Set<string>;
  phones: Set<string>;
  externalIds: Set<string>;
  /** Requests that passed validation, in arrival order. */
  requests: MetaRequest[];
  sessions: Map<number, { method: string; seqs: number[]; ended: boolean }>;
  violations: string[];
  authFailures: number;
}

export interface MetaServer {
  url: string;
  state: MetaState;
  inject(fault: MetaFault): void;
  close(): Promise<void>;
}

class Reject extends Error {
  constructor(message: string, readonly status = 400, readonly code = 100, readonly violation = true) {
    super(message);
  }
}

export async function startMetaServer(options: MetaServerOptions): Promise<MetaServer> {
  const version = options.apiVersion ?? 'v21.0';
  const maxRows = options.maxRows ?? 10_000;
  const expected = new Map(Object.entries(options.expected ?? {}).map(([k, v]) => [k, new Set(v)]));
  const invalid = new Map<string, string>();
  const faults = new FaultQueue();
  const state: MetaState = {
    emails: new Set(),
    phones: new Set(),
    externalIds: new Set(),
    requests: [],
    sessions: new Map(),
    violations: [],
    authFailures: 0,
  };

  const handle = (req: http.IncomingMessage, text: string, res: http.ServerResponse): void => {
    try {
      sendJson(res, 200, accept(req, text));
    } catch (err) {
      if (!(err instanceof Reject)) throw err;
      if (err.violation) state.violations.push(err.message);
      sendJson(res, err.status, { error: { message: err.message, type: err.code === 190 ? 'OAuthException' : 'GraphMethodException', code: err.code, fbtrace_id: 'contract' } });
    }
  };

  const accept = (req: http.IncomingMessage, text: string) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/(v\d+\.\d+)\/([^/]+)\/users$/.exec(url.pathname);
    if (!m || m[1] !== version) throw new Reject(`unknown path ${url.pathname}`, 404, 803);
    if (m[2] !== options.audienceId) throw new Reject(`audience ${m[2]} does not exist`, 400, 100);
    if (req.method !== 'POST' && req.method !== 'DELETE') throw new Reject(`method ${req.method} not allowed`);
    if (!(req.headers['content-type'] ?? '').includes('application/json')) throw new Reject('body must be JSON');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Reject('body is not valid JSON');
    }
    const queryToken = url.searchParams.get('access_token');
    const token = queryToken ?? body.access_token;
    if (token !== options.accessToken) {
      state.authFailures += 1;
      throw new Reject(token ? 'Invalid OAuth access token.' : 'An active access token must be used.', 400, 190, false);
    }
    // An email in clear text shows up as an @ somewhere in the body, whatever the field.
    if (text.includes('@')) throw new Reject('plain-text email in request body');

    const payload = body.payload as { schema?: unknown; data?: unknown } | undefined;
    const schema = payload?.schema;
    if (!Array.isArray(schema) || schema.length === 0 || !schema.every((s) => typeof s === 'string' && KNOWN.has(s))) {
      throw new Reject(`payload.schema must be a non-empty list of ${[...KNOWN].join(', ')}`);
    }
    if (new Set(schema).size !== schema.length) throw new Reject('payload.schema repeats a key');
    const data = payload?.data;
    if (!Array.isArray(data) || data.length === 0) throw new Reject('payload.data must be a non-empty list');
    if (data.length > maxRows) throw new Reject(`payload.data has ${data.length} rows; at most ${maxRows} per request`);
    data.forEach((row, i) => checkRow(schema as string[], row, i));

    const session = body.session as { session_id?: unknown; batch_seq?: unknown; last_batch_flag?: unknown } | undefined;
    const sessionId = session?.session_id;
    const seq = session?.batch_seq;
    if (!Number.isSafeInteger(sessionId) || (sessionId as number) <= 0) throw new Reject('session.session_id must be a positive integer');
    if (!Number.isSafeInteger(seq) || (seq as number) <= 0) throw new Reject('session.batch_seq must be a positive integer');
    if (typeof session?.last_batch_flag !== 'boolean') throw new Reject('session.last_batch_flag must be a boolean');
    const known = state.sessions.get(sessionId as number) ?? { method: req.method, seqs: [], ended: false };
    if (known.ended) throw new Reject(`session ${sessionId} already ended`);
    if (known.method !== req.method) throw new Reject(`session ${sessionId} mixes ${known.method} and ${req.method}`);
    if (known.seqs.includes(seq as number)) throw new Reject(`session ${sessionId} reuses batch_seq ${seq}`);
    known.seqs.push(seq as number);
    known.ended = session?.last_batch_flag === true;
    state.sessions.set(sessionId as number, known);

    const samples: Record<string, string> = {};
    let invalidCount = 0;
    for (const row of data as string[][]) {
      const bad = row.find((v) => invalid.has(v));
      if (bad !== undefined) {
        invalidCount += 1;
        samples[bad] = invalid.get(bad)!;
        continue;
      }
      applyRow(req.method, schema as string[], row);
    }
    state.requests.push({ method: req.method, rows: data.length, schema: schema as string[], sessionId: sessionId as number, batchSeq: seq as number, tokenIn: queryToken ? 'query' : 'body', body: text });
    return { audience_id: options.audienceId, session_id: sessionId, num_received: data.length, num_invalid_entries: invalidCount, invalid_entry_samples: samples };
  };

  const checkRow = (schema: string[], row: unknown, i: number): void => {
    if (!Array.isArray(row) || row.length !== schema.length) throw new Reject(`payload.data[${i}] must have ${schema.length} values`);
    if (row.every((v) => v === '')) throw new Reject(`payload.data[${i}] is empty`);
    schema.forEach((key, j) => {
      const v = row[j];
      if (typeof v !== 'string') throw new Reject(`payload.data[${i}][${j}] must be a string`);
      if (v === '' || !HASHED.has(key)) return;
      if (!SHA256_HEX.test(v)) throw new Reject(`payload.data[${i}] ${key} is not a lowercase SHA-256 hex digest (plain text?)`);
      const allowed = expected.get(key);
      if (allowed && !allowed.has(v)) throw new Reject(`payload.data[${i}] ${key} hash is not one the test expects (wrong normalisation?)`);
    });
  };

  const applyRow = (method: string, schema: string[], row: string[]): void => {
    const sets: Record<string, Set<string>> = { EMAIL: state.emails, PHONE: state.phones, EXTERN_ID: state.externalIds };
    schema.forEach((key, j) => {
      const set = sets[key];
      if (!set || row[j] === '') return;
      if (method === 'POST') set.add(row[j]);
      else set.delete(row[j]);
    });
  };

  const server = await serve(faults, handle);
  return {
    url: server.url,
    state,
    inject(fault) {
      if (fault.kind === 'invalid') for (const v of fault.values) invalid.set(v, fault.reason ?? 'Invalid value');
      else faults.add(fault);
    },
    close: server.close,
  };
}
