/**
 * Klaviyo destination.
 *
 * - upsert: `POST /api/profile-bulk-import-jobs` (up to 10,000 profiles or 5 MB per job).
 *   Profiles are identified by the mapped `email`, `phone_number` or `external_id` (the sync
 *   key is only the warehouse row's key).
 * - audience (needs `list_id`): adds are the same import job with the list as a relationship;
 *   removals look profile ids up by the first mapped identifier (`GET /api/profiles?filter=
 *   any(...)`, 100 per request), then `DELETE /api/lists/{list_id}/relationships/profiles`
 *   (1,000 per request). A profile that does not exist is not in the list, so its removal
 *   counts as done.
 *
 * Imports are asynchronous: Klaviyo answers 202 with a job id once it has accepted the job and
 * processes it later. Rows count as ok on acceptance; a profile that fails during processing
 * is not reported back here. A 400 names the invalid profiles by JSON pointer; those rows are
 * rejected and the rest resent (see src/destination/isolate.ts). Null fields are dropped
 * (profile.ts), since a bulk import cannot set a field to null. Klaviyo takes plain text
 * (nothing is hashed).
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
import { ID_FIELDS, klaviyoSettings, validateKlaviyoConfig, type KlaviyoIdField, type KlaviyoSettings } from './config.js';
import { sendIsolating, type Verdict } from '../../../src/destination/isolate.js';
import { toProfile, type ProfileResource } from './profile.js';

/** Below Klaviyo's 5 MB per job, leaving room for the envelope. */
const MAX_JOB_BYTES = 4_500_000;
const LOOKUP_SIZE = 100;
const REMOVE_SIZE = 1_000;

interface JsonApiError {
  status?: number | string;
  code?: string;
  title?: string;
  detail?: string;
  source?: { pointer?: string; parameter?: string };
}

function errorsOf(res: HttpResult): JsonApiError[] {
  const errors = (res.body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? (errors as JsonApiError[]) : [];
}

function errorText(res: HttpResult): string {
  const e = errorsOf(res)[0];
  return e ? e.detail ?? e.title ?? e.code ?? `HTTP ${res.status}` : res.text.slice(0, 300) || `HTTP ${res.status}`;
}

/** Profiles a 400 names, by index: Klaviyo points at `/data/attributes/profiles/data/{i}/...`. */
function namedProfiles(res: HttpResult): Map<number, string> {
  const named = new Map<number, string>();
  for (const e of errorsOf(res)) {
    const m = /^\/data\/attributes\/profiles\/data\/(\d+)(\/|$)/.exec(e.source?.pointer ?? '');
    if (m) named.set(Number(m[1]), e.detail ?? e.title ?? 'invalid profile');
  }
  return named;
}

const norm = (field: string, v: string) => (field === 'email' ? v.trim().toLowerCase() : v.trim());

/** The first identifier an operation maps, which a removal looks the profile up by. */
function identifierOf(op: Operation): { field: KlaviyoIdField; value: string } | undefined {
  for (const field of ID_FIELDS) {
    const v = op.fields[field];
    if (v !== null && v !== undefined && String(v).trim() !== '') return { field, value: String(v).trim() };
  }
  return undefined;
}

class KlaviyoDestination implements Destination {
  readonly type = 'klaviyo';
  readonly capabilities: DestinationCapabilities;

  constructor(private readonly s: KlaviyoSettings) {
    this.capabilities = {
      modes: s.listId ? ['upsert', 'audience'] : ['upsert'],
      batchSize: s.batchSize,
      requestsPerSecond: s.requestsPerSecond,
      concurrency: s.concurrency,
      supportsRemoval: Boolean(s.listId),
      identifiers: ID_FIELDS.map((field) => ({ field, prepare: 'plain' as const })),
    };
  }

  async send(batch: Operation[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const outcome = new Map<Operation, RowOutcome>();
    const reject = (op: Operation, reason: string) => outcome.set(op, { key: op.key, status: 'rejected', reason });
    const upserts: Operation[] = [];
    const adds: Operation[] = [];
    const removes: Operation[] = [];
    for (const op of batch) {
      if (op.op !== 'upsert' && op.op !== 'add' && op.op !== 'remove') reject(op, `the klaviyo destination does not support '${op.op}' operations`);
      else if (op.op !== 'upsert' && !this.s.listId) reject(op, 'audience operations need list_id in the destination config');
      else if (!identifierOf(op)) reject(op, `no ${ID_FIELDS.join(', ')} value to identify the Klaviyo profile`);
      else (op.op === 'upsert' ? upserts : op.op === 'add' ? adds : removes).push(op);
    }
    for (const [op, reason] of await this.importProfiles(upserts, false, ctx)) reject(op, reason);
    for (const [op, reason] of await this.importProfiles(adds, true, ctx)) reject(op, reason);
    for (const [op, reason] of await this.removeFromList(removes, ctx)) reject(op, reason);
    return batch.map((op) => outcome.get(op) ?? { key: op.key, status: 'ok' });
  }

  private async importProfiles(ops: Operation[], intoList: boolean, ctx: DeliveryContext): Promise<Map<Operation, string>> {
    const rejected = new Map<Operation, string>();
    const profiles = new Map(ops.map((op) => [op, toProfile(op.fields)] as const));
    for (const job of this.jobs(ops, profiles)) {
      const failed = await sendIsolating(job, (rows) => this.importJob(rows.map((op) => profiles.get(op)!), intoList, ctx));
      for (const [op, reason] of failed) rejected.set(op, reason);
    }
    return rejected;
  }

  /** Splits operations into jobs within both the profile count and the byte limit. */
  private *jobs(ops: Operation[], profiles: Map<Operation, ProfileResource>): Generator<Operation[]> {
    let job: Operation[] = [];
    let bytes = 0;
    for (const op of ops) {
      const size = Buffer.byteLength(JSON.stringify(profiles.get(op))) + 1;
      if (job.length && (job.length >= this.s.batchSize || bytes + size > MAX_JOB_BYTES)) {
        yield job;
        job = [];
        bytes = 0;
      }
      job.push(op);
      bytes += size;
    }
    if (job.length) yield job;
  }

  private async importJob(profiles: ProfileResource[], intoList: boolean, ctx: DeliveryContext): Promise<Verdict> {
    const data: Record<string, unknown> = { type: 'profile-bulk-import-job', attributes: { profiles: { data: profiles } } };
    if (intoList) data.relationships = { lists: { data: [{ type: 'list', id: this.s.listId }] } };
    const res = await this.call('POST', '/api/profile-bulk-import-jobs', { data }, ctx);
    if (res.status >= 200 && res.status < 300) return { applied: true, rejected: new Map() };
    if (res.status === 404) throw new FatalDestinationError(`Klaviyo list ${this.s.listId ?? ''} was not found (404): ${errorText(res)}`);
    // 413: too large for one job; no profile is at fault, so the job is halved.
    return { applied: false, rejected: res.status === 413 ? new Map() : namedProfiles(res), message: `Klaviyo refused the import (${res.status}): ${errorText(res)}` };
  }

  private async removeFromList(ops: Operation[], ctx: DeliveryContext): Promise<Map<Operation, string>> {
    const rejected = new Map<Operation, string>();
    const ids = new Map<Operation, string[]>();
    for (const field of ID_FIELDS) {
      const byField = ops.filter((op) => identifierOf(op)!.field === field);
      for (let i = 0; i < byField.length; i += LOOKUP_SIZE) {
        const failed = await sendIsolating(byField.slice(i, i + LOOKUP_SIZE), (rows) => this.lookup(field, rows, ids, ctx));
        for (const [op, reason] of failed) rejected.set(op, reason);
      }
    }
    const found = ops.filter((op) => ids.get(op)?.length);
    let group: Operation[] = [];
    let count = 0;
    const flush = async () => {
      const failed = await sendIsolating(group, (rows) => this.unlink(rows.flatMap((op) => ids.get(op)!), ctx));
      for (const [op, reason] of failed) rejected.set(op, reason);
      group = [];
      count = 0;
    };
    for (const op of found) {
      if (count + ids.get(op)!.length > REMOVE_SIZE) await flush();
      group.push(op);
      count += ids.get(op)!.length;
    }
    if (group.length) await flush();
    return rejected;
  }

  /** Profile ids for each operation's identifier; operations without a profile get none. */
  private async lookup(field: KlaviyoIdField, rows: Operation[], ids: Map<Operation, string[]>, ctx: DeliveryContext): Promise<Verdict> {
    const byValue = new Map<string, Operation[]>();
    for (const op of rows) {
      ids.delete(op); // a retried lookup starts over rather than adding to a partial one
      const v = norm(field, identifierOf(op)!.value);
      byValue.set(v, [...(byValue.get(v) ?? []), op]);
    }
    const values = [...new Set(rows.map((op) => identifierOf(op)!.value))];
    const filter = `any(${field},[${values.map((v) => JSON.stringify(v)).join(',')}])`;
    const query = new URLSearchParams({ filter, 'page[size]': String(LOOKUP_SIZE), 'fields[profile]': field });
    let url: string | undefined = `${this.s.baseUrl}/api/profiles?${query}`;
    for (let page = 0; url && page < 20; page++) {
      const res = await this.call('GET', url, undefined, ctx);
      if (res.status < 200 || res.status >= 300) {
        return { applied: false, rejected: new Map(), message: `Klaviyo refused the profile lookup (${res.status}): ${errorText(res)}` };
      }
      const body = res.body as { data?: { id?: string; attributes?: Record<string, unknown> }[]; links?: { next?: string | null } };
      for (const p of body.data ?? []) {
        const v = p.attributes?.[field];
        if (!p.id || typeof v !== 'string') continue;
        for (const op of byValue.get(norm(field, v)) ?? []) ids.set(op, [...(ids.get(op) ?? []), p.id]);
      }
      // The key goes with every request, so only pages on Klaviyo's own origin are followed.
      const next = body.links?.next;
      url = next && new URL(next).origin === new URL(this.s.baseUrl).origin ? next : undefined;
    }
    return { applied: true, rejected: new Map() };
  }

  private async unlink(profileIds: string[], ctx: DeliveryContext): Promise<Verdict> {
    const data = [...new Set(profileIds)].map((id) => ({ type: 'profile', id }));
    const res = await this.call('DELETE', `/api/lists/${encodeURIComponent(this.s.listId!)}/relationships/profiles`, { data }, ctx);
    if (res.status >= 200 && res.status < 300) return { applied: true, rejected: new Map() };
    if (res.status === 404) throw new FatalDestinationError(`Klaviyo list ${this.s.listId} was not found (404): ${errorText(res)}`);
    return { applied: false, rejected: new Map(), message: `Klaviyo refused the list removal (${res.status}): ${errorText(res)}` };
  }

  private call(method: string, pathOrUrl: string, body: unknown, ctx: DeliveryContext): Promise<HttpResult> {
    const headers: Record<string, string> = {
      authorization: `Klaviyo-API-Key ${this.s.apiKey}`,
      revision: this.s.revision,
      accept: 'application/vnd.api+json',
    };
    if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    return request(pathOrUrl.startsWith('/') ? this.s.baseUrl + pathOrUrl : pathOrUrl, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctx.signal,
      timeoutMs: this.s.timeoutMs,
    });
  }
}

export const factory = checkedFactory({
  type: 'klaviyo',
  validateConfig: validateKlaviyoConfig,
  refusal: 'klaviyo destination config',
  build: (config) => new KlaviyoDestination(klaviyoSettings(config)),
});
