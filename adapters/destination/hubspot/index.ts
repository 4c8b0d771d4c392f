/**
 * HubSpot CRM destination.
 *
 * - upsert: `POST /crm/v3/objects/{object_type}/batch/upsert`, matching on `id_property`
 *   (default `email`), whose value comes from the mapped fields (the sync key is only the
 *   warehouse row's key); the other fields become properties. Rows sharing an id value go as
 *   one input, as HubSpot refuses duplicate ids in a batch.
 * - audience (needs `list_id`): adds are upserted first (so the record exists), then list
 *   membership changes by record id via `PUT /crm/v3/lists/{list_id}/memberships/add-and-remove`.
 *   Removals look the record id up (`batch/read` by `id_property`); a record that does not
 *   exist is not in the list, so its removal counts as done.
 *
 * HubSpot takes plain text (nothing is hashed). A batch answered 207 names its failed inputs;
 * one refused with 400 is resent without the inputs it names (see src/destination/isolate.ts).
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
import { hubSpotSettings, MAX_BATCH, validateHubSpotConfig, type HubSpotSettings } from './config.js';
import { sendIsolating, type Verdict } from '../../../src/destination/isolate.js';

interface HubSpotError {
  message?: string;
  category?: string;
  context?: Record<string, unknown>;
  errors?: { message?: string; context?: Record<string, unknown> }[];
}

interface BatchBody {
  status?: string;
  message?: string;
  results?: { id?: string; properties?: Record<string, unknown> }[];
  errors?: HubSpotError[];
  numErrors?: number;
}

/** HubSpot property values are strings; an empty string clears a property. */
export function propertyValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  // Multiple-checkbox properties take values separated by semicolons.
  if (Array.isArray(v)) return v.map((x) => propertyValue(x)).join(';');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const norm = (key: string) => key.trim().toLowerCase();

/** Every string in an error's context (HubSpot lists the failed ids there, under varying names). */
function contextValues(err: HubSpotError): string[] {
  const out: string[] = [];
  const collect = (ctx: Record<string, unknown> | undefined) => {
    for (const v of Object.values(ctx ?? {})) {
      if (typeof v === 'string') out.push(v);
      else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string' || typeof x === 'number') out.push(String(x));
    }
  };
  collect(err.context);
  for (const inner of err.errors ?? []) collect(inner.context);
  return out;
}

function errorMessage(err: HubSpotError): string {
  return err.errors?.find((e) => e.message)?.message ?? err.message ?? err.category ?? 'rejected by HubSpot';
}

/** Rows an error list names, by index into `keys`. */
function attribute(keys: string[], errors: HubSpotError[]): Map<number, string> {
  const index = new Map<string, number[]>();
  keys.forEach((k, i) => index.set(norm(k), [...(index.get(norm(k)) ?? []), i]));
  const named = new Map<number, string>();
  for (const err of errors) {
    for (const v of contextValues(err)) for (const i of index.get(norm(v)) ?? []) named.set(i, errorMessage(err));
  }
  return named;
}

function bodyMessage(res: HttpResult): string {
  const b = res.body as BatchBody | undefined;
  return (typeof b === 'object' && b?.message) || res.text.slice(0, 300) || `HTTP ${res.status}`;
}

/** One record to write: its id property value and the operations (rows) that name it. */
interface Target {
  id: string;
  ops: Operation[];
}

class HubSpotDestination implements Destination {
  readonly type = 'hubspot';
  readonly capabilities: DestinationCapabilities;

  constructor(private readonly s: HubSpotSettings) {
    this.capabilities = {
      modes: s.listId ? ['upsert', 'audience'] : ['upsert'],
      batchSize: s.batchSize,
      // An audience batch costs two requests (upsert or lookup, then membership), so the
      // engine's pacing of batches is halved to keep HubSpot's per-request limit.
      requestsPerSecond: s.listId ? s.requestsPerSecond / 2 : s.requestsPerSecond,
      concurrency: s.concurrency,
      supportsRemoval: Boolean(s.listId),
      identifiers: [{ field: s.idProperty, prepare: 'plain' }],
    };
  }

  async send(batch: Operation[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const outcome = new Map<Operation, RowOutcome>();
    const reject = (op: Operation, reason: string) => outcome.set(op, { key: op.key, status: 'rejected', reason });
    const upserts = new Map<string, Target>();
    const removes = new Map<string, Target>();
    for (const op of batch) {
      const id = op.fields[this.s.idProperty];
      if (op.op !== 'upsert' && op.op !== 'add' && op.op !== 'remove') reject(op, `the hubspot destination does not support '${op.op}' operations`);
      else if (op.op !== 'upsert' && !this.s.listId) reject(op, 'audience operations need list_id in the destination config');
      else if (id === null || id === undefined || String(id).trim() === '') reject(op, `no ${this.s.idProperty} value to match the ${this.s.objectType} record on`);
      else {
        const targets = op.op === 'remove' ? removes : upserts;
        const t = targets.get(norm(String(id))) ?? { id: String(id).trim(), ops: [] };
        t.ops.push(op);
        targets.set(norm(t.id), t);
      }
    }

    const recordIds = new Map<string, string>();
    const targets = [...upserts.values()];
    for (let i = 0; i < targets.length; i += this.s.batchSize) {
      const chunk = targets.slice(i, i + this.s.batchSize);
      const rejected = await sendIsolating(chunk, (group) => this.upsert(group, recordIds, ctx));
      for (const [t, reason] of rejected) for (const op of t.ops) reject(op, reason);
    }

    if (this.s.listId) {
      const adds = targets.filter((t) => t.ops.some((op) => op.op === 'add') && !t.ops.some((op) => outcome.has(op)));
      const leaving = [...removes.values()];
      await this.readIds([...adds.filter((t) => !recordIds.has(norm(t.id))), ...leaving].map((t) => t.id), recordIds, ctx);
      const retry = (t: Target, reason: string) => {
        for (const op of t.ops) if (op.op === 'add') outcome.set(op, { key: op.key, status: 'retry', reason });
      };
      for (const t of adds) if (!recordIds.has(norm(t.id))) retry(t, 'HubSpot did not return the record id after the upsert');
      const toAdd = adds.filter((t) => recordIds.has(norm(t.id)));
      // A record that does not exist is not in the list: its removal is already done.
      const toRemove = leaving.filter((t) => recordIds.has(norm(t.id)));
      const missing = await this.changeMembership(
        toAdd.map((t) => recordIds.get(norm(t.id))!),
        toRemove.map((t) => recordIds.get(norm(t.id))!),
        ctx,
      );
      for (const t of toAdd) if (missing.has(recordIds.get(norm(t.id))!)) retry(t, 'HubSpot reported the record missing from the list update');
    }
    return batch.map((op) => outcome.get(op) ?? { key: op.key, status: 'ok' });
  }

  private async upsert(targets: Target[], recordIds: Map<string, string>, ctx: DeliveryContext): Promise<Verdict> {
    const inputs = targets.map((t) => {
      const properties: Record<string, string> = {};
      for (const op of t.ops) {
        for (const [name, value] of Object.entries(op.fields)) if (name !== this.s.idProperty) properties[name] = propertyValue(value);
      }
      return { idProperty: this.s.idProperty, id: t.id, properties };
    });
    const res = await this.call('POST', `/crm/v3/objects/${encodeURIComponent(this.s.objectType)}/batch/upsert`, { inputs }, ctx);
    const keys = targets.map((t) => t.id);
    const body = (typeof res.body === 'object' ? res.body : {}) as BatchBody;
    if (res.status >= 200 && res.status < 300) {
      const returned = new Set<string>();
      for (const r of body.results ?? []) {
        const key = r.properties?.[this.s.idProperty];
        if (r.id && key !== undefined && key !== null) {
          recordIds.set(norm(String(key)), String(r.id));
          returned.add(norm(String(key)));
        }
      }
      const errors = body.errors ?? [];
      const rejected = attribute(keys, errors);
      if (errors.length && rejected.size === 0 && returned.size) {
        // Errors HubSpot did not attribute: the inputs missing from the results are the failed ones.
        keys.forEach((k, i) => !returned.has(norm(k)) && rejected.set(i, errorMessage(errors[0])));
      }
      return { applied: true, rejected };
    }
    if (res.status === 404) throw new FatalDestinationError(`HubSpot object type '${this.s.objectType}' was not found (404): ${bodyMessage(res)}`);
    return { applied: false, rejected: attribute(keys, body.errors ?? []), message: `HubSpot refused the batch (${res.status}): ${bodyMessage(res)}` };
  }

  /** Record ids for `keys`, by `id_property`; keys with no record are left out. */
  private async readIds(keys: string[], recordIds: Map<string, string>, ctx: DeliveryContext): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_BATCH) {
      const inputs = keys.slice(i, i + MAX_BATCH).map((id) => ({ id }));
      const path = `/crm/v3/objects/${encodeURIComponent(this.s.objectType)}/batch/read`;
      const res = await this.call('POST', path, { idProperty: this.s.idProperty, inputs, properties: [this.s.idProperty] }, ctx);
      if (res.status < 200 || res.status >= 300) {
        // A lookup fails only on configuration (unknown object type, id_property not unique).
        throw new FatalDestinationError(`HubSpot record lookup by ${this.s.idProperty} failed (${res.status}): ${bodyMessage(res)}`);
      }
      for (const r of (res.body as BatchBody).results ?? []) {
        const key = r.properties?.[this.s.idProperty];
        if (r.id && key !== undefined && key !== null) recordIds.set(norm(String(key)), String(r.id));
      }
    }
  }

  /** Applies list membership changes; returns the record ids HubSpot reported missing. */
  private async changeMembership(add: string[], remove: string[], ctx: DeliveryContext): Promise<Set<string>> {
    const recordIdsToAdd = [...new Set(add)];
    const recordIdsToRemove = [...new Set(remove)];
    if (!recordIdsToAdd.length && !recordIdsToRemove.length) return new Set();
    const path = `/crm/v3/lists/${encodeURIComponent(this.s.listId!)}/memberships/add-and-remove`;
    const res = await this.call('PUT', path, { recordIdsToAdd, recordIdsToRemove }, ctx);
    if (res.status < 200 || res.status >= 300) {
      // The list is missing or not a MANUAL/SNAPSHOT list: every batch would fail the same way.
      throw new FatalDestinationError(`HubSpot list ${this.s.listId} refused the membership change (${res.status}): ${bodyMessage(res)}`);
    }
    const b = (res.body ?? {}) as Record<string, unknown>;
    const missing = (b.recordIdsMissing ?? b.recordsIdsMissing ?? []) as unknown[];
    return new Set(missing.map(String));
  }

  private call(method: string, path: string, body: unknown, ctx: DeliveryContext): Promise<HttpResult> {
    return request(this.s.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.s.accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: ctx.signal,
      timeoutMs: this.s.timeoutMs,
    });
  }
}

export const factory = checkedFactory({
  type: 'hubspot',
  validateConfig: validateHubSpotConfig,
  refusal: 'hubspot destination config',
  build: (config) => new HubSpotDestination(hubSpotSettings(config)),
});
