/**
 * Braze destination, through `POST /users/track` (attribute objects, 75 per request).
 *
 * - upsert: fields become user attributes; the user is identified by the mapped `external_id`
 *   or, without one, `email` (the sync key is only the warehouse row's key). A null field
 *   unsets the attribute.
 * - audience (needs `audience_attribute`): Braze has no list API, so membership is an
 *   attribute: a boolean set true on add and false on remove, or a value added to / removed
 *   from an array attribute. Removals carry only the identifier and the membership change,
 *   with `_update_existing_only`, so a removal never creates a user.
 *
 * Braze takes plain text (nothing is hashed). Per-object failures come back as
 * `errors: [{type, input_array, index}]` and reject the row at that index.
 */
import { checkedFactory } from '../../../src/destination/checked-factory.js';
import { request, type HttpResult } from '../../../src/destination/http.js';
import {
  FatalDestinationError,
  type DeliveryContext,
  type Destination,
  type DestinationCapabilities,
  type Operation,
  type RowOutcome,
} from '../../../src/destination/types.js';
import { brazeSettings, ID_FIELDS, validateBrazeConfig, type BrazeSettings } from './config.js';
import { sendIsolating, type Verdict } from '../../../src/destination/isolate.js';

interface TrackBody {
  message?: string;
  errors?: ({ type?: string; input_array?: string; index?: number } | string)[];
}

/** JSON-safe attribute values: dates as ISO 8601, big integers as numbers when exact. */
export function attributeValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(attributeValue);
  return v;
}

/** Rows the response names, by index into the attribute array. */
function attribute(body: TrackBody | undefined): Map<number, string> {
  const named = new Map<number, string>();
  for (const e of body?.errors ?? []) {
    if (typeof e !== 'object' || e === null || typeof e.index !== 'number') continue;
    if (e.input_array !== undefined && e.input_array !== 'attributes') continue;
    named.set(e.index, e.type ?? 'rejected by Braze');
  }
  return named;
}

class BrazeDestination implements Destination {
  readonly type = 'braze';
  readonly capabilities: DestinationCapabilities;

  constructor(private readonly s: BrazeSettings) {
    this.capabilities = {
      modes: s.audience ? ['upsert', 'audience'] : ['upsert'],
      batchSize: s.batchSize,
      requestsPerSecond: s.requestsPerSecond,
      concurrency: s.concurrency,
      supportsRemoval: Boolean(s.audience),
      identifiers: ID_FIELDS.map((field) => ({ field, prepare: 'plain' as const })),
    };
  }

  async send(batch: Operation[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const outcome = new Map<Operation, RowOutcome>();
    const objects = new Map<Operation, Record<string, unknown>>();
    for (const op of batch) {
      const obj = this.attributesFor(op);
      if (typeof obj === 'string') outcome.set(op, { key: op.key, status: 'rejected', reason: obj });
      else objects.set(op, obj);
    }
    const ops = [...objects.keys()];
    for (let i = 0; i < ops.length; i += this.s.batchSize) {
      const chunk = ops.slice(i, i + this.s.batchSize);
      // Braze refuses the whole request (400) when no object in it is usable; resending the
      // usable ones lets them land in this run.
      const rejected = await sendIsolating(chunk, (rows) => this.track(rows.map((op) => objects.get(op)!), ctx));
      for (const [op, reason] of rejected) outcome.set(op, { key: op.key, status: 'rejected', reason });
    }
    return batch.map((op) => outcome.get(op) ?? { key: op.key, status: 'ok' });
  }

  /** The attribute object for one operation, or why there is none. */
  private attributesFor(op: Operation): Record<string, unknown> | string {
    const audience = this.s.audience;
    if ((op.op === 'add' || op.op === 'remove') && !audience) return 'audience operations need audience_attribute in the destination config';
    if (op.op === 'delete') return "the braze destination does not support 'delete' operations";
    const present = (f: string) => op.fields[f] !== undefined && op.fields[f] !== null && String(op.fields[f]).trim() !== '';
    if (!ID_FIELDS.some(present)) return `no ${ID_FIELDS.join(' or ')} value to identify the Braze user`;
    const obj: Record<string, unknown> = {};
    if (op.op === 'remove') {
      // Only the identifiers: a removal must not rewrite the profile with stale fields.
      for (const f of ID_FIELDS) if (present(f)) obj[f] = String(op.fields[f]);
      obj._update_existing_only = true;
    } else {
      for (const [name, value] of Object.entries(op.fields)) obj[name] = attributeValue(value);
      // Braze identifiers are strings; one that is null is not sent, as it cannot be unset.
      for (const f of ID_FIELDS) {
        if (present(f)) obj[f] = String(op.fields[f]);
        else delete obj[f];
      }
    }
    if (audience && (op.op === 'add' || op.op === 'remove')) {
      obj[audience.name] = audience.kind === 'boolean' ? op.op === 'add' : { [op.op]: [audience.value] };
    }
    return obj;
  }

  private async track(attributes: Record<string, unknown>[], ctx: DeliveryContext): Promise<Verdict> {
    const res = await request(`${this.s.restEndpoint}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.s.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ attributes }),
      signal: ctx.signal,
      timeoutMs: this.s.timeoutMs,
    });
    const body = (typeof res.body === 'object' ? res.body : undefined) as TrackBody | undefined;
    if (res.status >= 200 && res.status < 300) return { applied: true, rejected: attribute(body) };
    if (res.status === 404) throw new FatalDestinationError(`Braze answered 404 for /users/track: check rest_endpoint (${new URL(this.s.restEndpoint).host})`);
    return { applied: false, rejected: attribute(body), message: `Braze refused the request (${res.status}): ${message(res, body)}` };
  }
}

function message(res: HttpResult, body: TrackBody | undefined): string {
  return body?.message ?? (res.text.slice(0, 300) || `HTTP ${res.status}`);
}

export const factory = checkedFactory({
  type: 'braze',
  validateConfig: validateBrazeConfig,
  refusal: 'braze destination config',
  build: (config) => new BrazeDestination(brazeSettings(config)),
});
