/**
 * `meta`: Meta Custom Audiences (Marketing API, /{audience_id}/users). Adds are POSTed and
 * removals DELETEd with the same multi-key payload; every PII value is hashed in payload.ts
 * before a body is built. The access token travels as the documented `access_token` body
 * parameter, never in the URL, so proxies and error messages cannot log it.
 */
import { checkedFactory } from '../../../src/destination/checked-factory.js';
import { request, type HttpResult } from '../../../src/destination/http.js';
import { sha256Hex } from '../../../src/destination/hashing.js';
import {
  FatalDestinationError,
  RetryableBatchError,
  type DeliveryContext,
  type Destination,
  type DestinationCapabilities,
  type Operation,
  type RowOutcome,
} from '../../../src/destination/types.js';
import { checkMetaConfig, metaSettings, type MetaSettings } from './config.js';
import { buildPayload, NO_IDENTIFIER, prepareRow } from './payload.js';

export { META_MAX_BATCH } from './config.js';

export const factory = checkedFactory({
  type: 'meta',
  validateConfig: checkMetaConfig,
  refusal: 'invalid meta destination',
  build: (config) => new MetaAudience(metaSettings(config)),
});

type Method = 'POST' | 'DELETE';

interface PreparedRow {
  key: string;
  values: Map<string, string>;
}

/** Fields of Meta's answer to a users upload. */
interface UploadResponse {
  num_received?: number;
  num_invalid_entries?: number;
  invalid_entry_samples?: unknown;
}

interface GraphError {
  message?: string;
  code?: number;
  error_subcode?: number;
  error_user_msg?: string;
  is_transient?: boolean;
}

class MetaAudience implements Destination {
  readonly type = 'meta';
  readonly capabilities: DestinationCapabilities;
  private readonly url: string;
  /** Upload sessions of the runs in progress: one per (sync, run, method). */
  private readonly sessions = new Map<string, { id: number; seq: number }>();

  constructor(private readonly settings: MetaSettings) {
    this.url = `${settings.baseUrl}/${settings.apiVersion}/${encodeURIComponent(settings.audienceId)}/users`;
    this.capabilities = {
      modes: ['audience'],
      batchSize: settings.batchSize,
      concurrency: settings.concurrency,
      requestsPerSecond: settings.requestsPerSecond,
      supportsRemoval: true,
      identifiers: [
        { field: 'email', prepare: 'sha256_email' },
        { field: 'phone', prepare: 'sha256_phone_digits' },
        { field: 'external_id', prepare: 'plain' },
      ],
      acceptedFields: ['email', 'phone', 'first_name', 'last_name', 'external_id'],
    };
  }

  async send(batch: Operation[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const outcomes: RowOutcome[] = [];
    const byMethod: Record<Method, PreparedRow[]> = { POST: [], DELETE: [] };
    for (const op of batch) {
      if (op.op !== 'add' && op.op !== 'remove') {
        outcomes.push(rejected(op.key, `Meta custom audiences take add and remove, not ${op.op}`));
        continue;
      }
      const values = prepareRow(op.fields);
      if (!values) outcomes.push(rejected(op.key, NO_IDENTIFIER));
      else byMethod[op.op === 'add' ? 'POST' : 'DELETE'].push({ key: op.key, values });
    }
    for (const method of ['POST', 'DELETE'] as const) {
      const rows = byMethod[method];
      // The engine batches to capabilities.batchSize; slicing again keeps Meta's limit even if it did not.
      for (let i = 0; i < rows.length; i += this.settings.batchSize) {
        outcomes.push(...(await this.upload(method, rows.slice(i, i + this.settings.batchSize), ctx)));
      }
    }
    return outcomes;
  }

  async finish(ctx: Omit<DeliveryContext, 'batchId'>): Promise<void> {
    // Nothing to run: Meta applies each upload on its own. A session we cannot flag as last
    // (the engine does not say which batch is last) simply times out on Meta's side.
    for (const method of ['POST', 'DELETE'] as const) this.sessions.delete(sessionName(ctx, method));
  }

  private async upload(method: Method, rows: PreparedRow[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const payload = buildPayload(rows.map((r) => r.values));
    const session = this.nextSession(ctx, method);
    const body = JSON.stringify({
      payload,
      session: { session_id: session.id, batch_seq: session.seq, last_batch_flag: false },
      access_token: this.settings.accessToken,
    });
    const res = await request(this.url, {
      method,
      body,
      headers: { 'content-type': 'application/json' },
      signal: ctx.signal,
      timeoutMs: this.settings.timeoutMs,
    });
    if (res.status >= 200 && res.status < 300) {
      return invalidEntries(res.body as UploadResponse, rows, payload.data);
    }
    const reason = judgeError(res);
    return rows.map((r) => rejected(r.key, reason));
  }

  private nextSession(ctx: Omit<DeliveryContext, 'batchId'>, method: Method): { id: number; seq: number } {
    const name = sessionName(ctx, method);
    let session = this.sessions.get(name);
    if (!session) {
      session = { id: sessionId(`${this.settings.audienceId}\u0000${name}`), seq: 0 };
      this.sessions.set(name, session);
    }
    session.seq += 1;
    return { id: session.id, seq: session.seq };
  }
}

const sessionName = (ctx: Omit<DeliveryContext, 'batchId'>, method: Method): string => `${ctx.sync}\u0000${ctx.runId}\u0000${method}`;

/** Stable per run: 52 bits of a hash, so it is an exact JSON integer and never 0. */
export function sessionId(text: string): number {
  return parseInt(sha256Hex(text).slice(0, 13), 16) || 1;
}

function rejected(key: string, reason: string): RowOutcome {
  return { key, status: 'rejected', reason };
}

/** Meta's throttling codes (application, user, page, ad account, business use case) and its transient ones. */
function isThrottleOrTransient(e: GraphError): boolean {
  const code = e.code ?? -1;
  return e.is_transient === true || [1, 2, 4, 17, 32, 341, 613].includes(code) || (code >= 80000 && code <= 80014);
}

/** Throws for auth, permission and throttling errors; returns a rejection reason for anything else. */
function judgeError(res: HttpResult): string {
  const error = (res.body as { error?: GraphError } | undefined)?.error;
  if (!error || typeof error !== 'object') return `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
  const code = `${error.code ?? '?'}${error.error_subcode ? `/${error.error_subcode}` : ''}`;
  const message = error.error_user_msg ?? error.message ?? 'no message';
  if (error.code === 190 || error.code === 102) throw new FatalDestinationError(`Meta refused the access token (OAuthException ${code}): ${message}`);
  if (error.code === 10 || (error.code !== undefined && error.code >= 200 && error.code <= 299)) {
    throw new FatalDestinationError(`Meta denied permission on the audience (error ${code}): ${message}`);
  }
  if (isThrottleOrTransient(error)) throw new RetryableBatchError(`Meta asked to slow down or retry (error ${code}): ${message}`);
  return `Meta error ${code}: ${message}`;
}

/**
 * Meta reports invalid rows only as a count plus a few samples. Rows a sample identifies are
 * rejected; the rest count as received, since Meta accepted them.
 */
function invalidEntries(res: UploadResponse | undefined, rows: PreparedRow[], data: string[][]): RowOutcome[] {
  const ok = rows.map((r): RowOutcome => ({ key: r.key, status: 'ok' }));
  if (!res || typeof res !== 'object' || !(Number(res.num_invalid_entries) > 0)) return ok;
  const keysByValue = new Map<string, string[]>();
  rows.forEach((r) => {
    for (const v of r.values.values()) keysByValue.set(v, [...(keysByValue.get(v) ?? []), r.key]);
  });
  const keyByRow = new Map(data.map((d, i) => [JSON.stringify(d), rows[i].key]));
  const reasons = new Map<string, string>();
  for (const [sample, why] of samples(res.invalid_entry_samples)) {
    const reason = `Meta marked the entry invalid: ${why}`;
    const keys = Array.isArray(sample) ? [keyByRow.get(JSON.stringify(sample))] : (keysByValue.get(sample) ?? []);
    for (const key of keys) if (key !== undefined) reasons.set(key, reason);
  }
  return ok.map((o) => (reasons.has(o.key) ? rejected(o.key, reasons.get(o.key)!) : o));
}

/** invalid_entry_samples comes as {value: reason} or as a list of values or rows. */
function samples(raw: unknown): [string | string[], string][] {
  if (Array.isArray(raw)) {
    return raw.filter((s) => typeof s === 'string' || Array.isArray(s)).map((s) => [s as string | string[], 'invalid entry']);
  }
  if (raw && typeof raw === 'object') return Object.entries(raw).map(([value, why]) => [value, String(why)]);
  return [];
}
