/**
 * A Klaviyo stand-in for contract tests: bulk profile import jobs, profile lookup by
 * identifier and list membership removal, validating every request as Klaviyo documents it
 * (`Klaviyo-API-Key` auth, a `revision` header, JSON:API bodies, 10,000 profiles or 5 MB per
 * job, 1,000 profiles per removal, 100 per page) and keeping profiles and list members in
 * memory. A job is applied when accepted (the real one runs later). Invalid profiles, nulls
 * included (a bulk import cannot set null), are refused with 400 and a JSON pointer per
 * profile. Tests inject faults: 429 with Retry-After, 5xx, connection resets, slow answers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultQueue, listenLocal, type Fault } from './faults.js';

export type { Fault };

export interface KlaviyoProfile {
  id: string;
  attributes: Record<string, unknown> & { location?: Record<string, unknown>; properties?: Record<string, unknown> };
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  bytes: number;
}

export interface KlaviyoState {
  profiles: Map<string, KlaviyoProfile>;
  /** List id → profile ids. */
  lists: Map<string, Set<string>>;
  jobs: Map<string, { total: number; listIds: string[] }>;
}

export interface KlaviyoServerOptions {
  apiKey?: string;
  /** Profiles per lookup page at most (smaller than the client asks for, to force paging). */
  maxPageSize?: number;
}

export interface KlaviyoServer {
  url: string;
  state: KlaviyoState;
  requests: LoggedRequest[];
  inject(fault: Fault): void;
  find(field: 'email' | 'phone_number' | 'external_id', value: string): KlaviyoProfile | undefined;
  /** The emails of a list's members, sorted. */
  members(listId: string): string[];
  close(): Promise<void>;
}

export const JOB_LIMIT = 10_000;
export const JOB_BYTES = 5 * 1024 * 1024;
export const REMOVE_LIMIT = 1_000;
const PAGE_LIMIT = 100;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const IDS = ['email', 'phone_number', 'external_id'] as const;
const STANDARD = new Set(['email', 'phone_number', 'external_id', 'first_name', 'last_name', 'organization', 'title', 'image', 'location', 'properties']);

interface ApiError {
  status: number;
  code: string;
  title: string;
  detail: string;
  source?: { pointer?: string; parameter?: string };
}

class HttpError extends Error {
  constructor(readonly status: number, readonly errors: ApiError[]) {
    super(`HTTP ${status}`);
  }
}

const invalid = (detail: string, source?: ApiError['source']): ApiError => ({ status: 400, code: 'invalid', title: 'Invalid input.', detail, ...(source ? { source } : {}) });

export async function startKlaviyoServer(opts: KlaviyoServerOptions = {}): Promise<KlaviyoServer> {
  const apiKey = opts.apiKey ?? 'pk_test_key';
  const maxPageSize = opts.maxPageSize ?? PAGE_LIMIT;
  const state: KlaviyoState = { profiles: new Map(), lists: new Map(), jobs: new Map() };
  const requests: LoggedRequest[] = [];
  const faults = new FaultQueue();
  let nextId = 1;
  let url = '';

  // Identifier → profile id, per identifier field, so 10,000-profile jobs stay fast.
  const index = new Map<string, Map<string, string>>(IDS.map((f) => [f, new Map()]));
  const indexKey = (field: string, v: string) => (field === 'email' ? v.toLowerCase() : v);
  const find = (field: string, value: string) => {
    const id = index.get(field)?.get(indexKey(field, value));
    return id === undefined ? undefined : state.profiles.get(id);
  };

  /** Problems with one profile resource, as JSON:API errors pointing into the job body. */
  function checkProfile(p: unknown, i: number): ApiError[] {
    const at = `/data/attributes/profiles/data/${i}`;
    if (typeof p !== 'object' || p === null || (p as { type?: unknown }).type !== 'profile') return [invalid("Each profile must be a resource of type 'profile'.", { pointer: at })];
    const attrs = (p as { attributes?: unknown }).attributes;
    if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) return [invalid('Profile attributes must be an object.', { pointer: `${at}/attributes` })];
    const a = attrs as Record<string, unknown>;
    const errors: ApiError[] = [];
    const nulls = (v: unknown, pointer: string): void => {
      if (v === null) errors.push(invalid('A bulk import cannot set a field to null.', { pointer }));
      else if (typeof v === 'object') for (const [k, x] of Object.entries(v as object)) nulls(x, `${pointer}/${k}`);
    };
    nulls(a, `${at}/attributes`);
    for (const k of Object.keys(a)) if (!STANDARD.has(k)) errors.push(invalid(`'${k}' is not a valid field for the resource 'profile'.`, { pointer: `${at}/attributes/${k}` }));
    if (!IDS.some((k) => typeof a[k] === 'string' && a[k] !== '')) {
      errors.push(invalid('One of email, phone_number or external_id is required.', { pointer: `${at}/attributes` }));
    }
    if (a.email !== undefined && a.email !== null && (typeof a.email !== 'string' || !EMAIL.test(a.email))) {
      errors.push(invalid('Invalid email address', { pointer: `${at}/attributes/email` }));
    }
    if (a.phone_number !== undefined && a.phone_number !== null && (typeof a.phone_number !== 'string' || !E164.test(a.phone_number))) {
      errors.push(invalid('Invalid phone number format (Example of a valid format: +12345678901)', { pointer: `${at}/attributes/phone_number` }));
    }
    for (const k of ['location', 'properties']) {
      if (a[k] !== undefined && (typeof a[k] !== 'object' || Array.isArray(a[k]))) errors.push(invalid(`${k} must be an object.`, { pointer: `${at}/attributes/${k}` }));
    }
    return errors;
  }

  function upsertProfile(a: Record<string, unknown>): KlaviyoProfile {
    let p: KlaviyoProfile | undefined;
    for (const k of IDS) if (!p && typeof a[k] === 'string') p = find(k, a[k] as string);
    if (!p) {
      p = { id: `01PROFILE${String(nextId++).padStart(6, '0')}`, attributes: {} };
      state.profiles.set(p.id, p);
    }
    for (const [k, v] of Object.entries(a)) {
      if (k === 'location' || k === 'properties') p.attributes[k] = { ...(p.attributes[k] as object | undefined), ...(v as object) };
      else p.attributes[k] = v;
    }
    for (const f of IDS) if (typeof p.attributes[f] === 'string') index.get(f)!.set(indexKey(f, p.attributes[f] as string), p.id);
    return p;
  }

  function importJob(body: unknown, bytes: number): [number, unknown] {
    if (bytes > JOB_BYTES) throw new HttpError(413, [{ status: 413, code: 'payload_too_large', title: 'Payload too large.', detail: `The payload is ${bytes} bytes; at most ${JOB_BYTES}.` }]);
    const data = (body as { data?: Record<string, unknown> })?.data;
    if (data?.type !== 'profile-bulk-import-job') throw new HttpError(400, [invalid("data.type must be 'profile-bulk-import-job'.", { pointer: '/data/type' })]);
    const profiles = (data.attributes as { profiles?: { data?: unknown } } | undefined)?.profiles?.data;
    if (!Array.isArray(profiles) || profiles.length === 0) throw new HttpError(400, [invalid('profiles.data must be a non-empty array.', { pointer: '/data/attributes/profiles/data' })]);
    if (profiles.length > JOB_LIMIT) throw new HttpError(400, [invalid(`A job takes at most ${JOB_LIMIT} profiles; got ${profiles.length}.`, { pointer: '/data/attributes/profiles/data' })]);
    const lists = (data.relationships as { lists?: { data?: unknown } } | undefined)?.lists?.data ?? [];
    if (!Array.isArray(lists) || lists.some((l) => (l as { type?: unknown })?.type !== 'list' || typeof (l as { id?: unknown }).id !== 'string')) {
      throw new HttpError(400, [invalid("relationships.lists.data must hold {type: 'list', id} resources.", { pointer: '/data/relationships/lists/data' })]);
    }
    const listIds = (lists as { id: string }[]).map((l) => l.id);
    for (const id of listIds) if (!state.lists.has(id)) throw new HttpError(404, [{ status: 404, code: 'not_found', title: 'Not found.', detail: `A list with id ${id} does not exist.` }]);
    const errors = profiles.flatMap((p, i) => checkProfile(p, i));
    if (errors.length) throw new HttpError(400, errors);
    for (const p of profiles) {
      const profile = upsertProfile((p as { attributes: Record<string, unknown> }).attributes);
      for (const id of listIds) state.lists.get(id)!.add(profile.id);
    }
    const id = randomUUID();
    state.jobs.set(id, { total: profiles.length, listIds });
    const now = new Date().toISOString();
    return [
      202,
      {
        data: {
          type: 'profile-bulk-import-job',
          id,
          attributes: { status: 'queued', created_at: now, total_count: profiles.length, completed_count: 0, failed_count: 0, completed_at: null, expires_at: null, started_at: null },
          relationships: { lists: { data: listIds.map((l) => ({ type: 'list', id: l })) } },
          links: { self: `${url}/api/profile-bulk-import-jobs/${id}/` },
        },
      },
    ];
  }

  function getProfiles(query: URLSearchParams): [number, unknown] {
    const size = Number(query.get('page[size]') ?? 20);
    if (!Number.isInteger(size) || size < 1 || size > PAGE_LIMIT) throw new HttpError(400, [invalid(`page[size] must be between 1 and ${PAGE_LIMIT}.`, { parameter: 'page[size]' })]);
    const filter = query.get('filter') ?? '';
    const m = /^(any|equals)\((email|phone_number|external_id),(.*)\)$/s.exec(filter);
    if (!m) throw new HttpError(400, [invalid(`Invalid filter provided: ${filter}`, { parameter: 'filter' })]);
    let values: unknown;
    try {
      values = m[1] === 'any' ? JSON.parse(m[3]) : [JSON.parse(m[3])];
    } catch {
      throw new HttpError(400, [invalid(`Invalid filter value: ${m[3]}`, { parameter: 'filter' })]);
    }
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string') || values.length > PAGE_LIMIT) {
      throw new HttpError(400, [invalid(`The filter takes at most ${PAGE_LIMIT} strings.`, { parameter: 'filter' })]);
    }
    const field = m[2];
    if (field === 'email' && values.some((v) => !EMAIL.test(v as string))) throw new HttpError(400, [invalid('Invalid email address in filter.', { parameter: 'filter' })]);
    const matches = [...new Set((values as string[]).map((v) => find(field, v)))].filter((p): p is KlaviyoProfile => p !== undefined);
    const offset = Number(query.get('page[cursor]') ?? 0);
    const take = Math.min(size, maxPageSize);
    const page = matches.slice(offset, offset + take);
    const wanted = query.get('fields[profile]')?.split(',');
    let next: string | null = null;
    if (offset + take < matches.length) {
      const q = new URLSearchParams(query);
      q.set('page[cursor]', String(offset + take));
      next = `${url}/api/profiles?${q}`;
    }
    const data = page.map((p) => ({
      type: 'profile',
      id: p.id,
      attributes: wanted ? Object.fromEntries(wanted.map((k) => [k, p.attributes[k] ?? null])) : p.attributes,
    }));
    return [200, { data, links: { self: `${url}/api/profiles`, next, prev: null } }];
  }

  function removeFromList(listId: string, body: unknown): [number, unknown] {
    const list = state.lists.get(listId);
    if (!list) throw new HttpError(404, [{ status: 404, code: 'not_found', title: 'Not found.', detail: `A list with id ${listId} does not exist.` }]);
    const data = (body as { data?: unknown })?.data;
    if (!Array.isArray(data) || data.length === 0) throw new HttpError(400, [invalid('data must be a non-empty array of profile resources.', { pointer: '/data' })]);
    if (data.length > REMOVE_LIMIT) throw new HttpError(400, [invalid(`At most ${REMOVE_LIMIT} profiles per request; got ${data.length}.`, { pointer: '/data' })]);
    data.forEach((d, i) => {
      if ((d as { type?: unknown })?.type !== 'profile' || typeof (d as { id?: unknown }).id !== 'string') {
        throw new HttpError(400, [invalid("Each item must be {type: 'profile', id}.", { pointer: `/data/${i}` })]);
      }
    });
    for (const d of data as { id: string }[]) list.delete(d.id);
    return [204, undefined];
  }

  function route(method: string, path: string, query: URLSearchParams, body: unknown, bytes: number): [number, unknown] {
    const p = path.replace(/\/$/, '');
    if (method === 'POST' && p === '/api/profile-bulk-import-jobs') return importJob(body, bytes);
    if (method === 'GET' && p === '/api/profiles') return getProfiles(query);
    const m = /^\/api\/lists\/([^/]+)\/relationships\/profiles$/.exec(p);
    if (m && method === 'DELETE') return removeFromList(decodeURIComponent(m[1]), body);
    throw new HttpError(404, [{ status: 404, code: 'not_found', title: 'Not found.', detail: `No route for ${method} ${path}` }]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const text = raw.toString('utf8');
    let body: unknown;
    let parsed = true;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
      parsed = false;
    }
    const method = req.method ?? '';
    requests.push({ method, path: u.pathname, query: u.searchParams, headers: req.headers, body, bytes: raw.length });
    const settled = await faults.actOut(u.pathname, req, res, (fault, headers) => {
      const error =
        fault.status === 429
          ? { status: 429, code: 'throttled', title: 'Request was throttled.', detail: 'Request was throttled. Expected available in 1 second.' }
          : { status: fault.status, code: 'error', title: 'A server error occurred.', detail: 'A server error occurred.' };
      reply(res, fault.status, fault.body ?? { errors: [error] }, headers);
    });
    if (settled) return;
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Klaviyo-API-Key ')) {
      return reply(res, 401, { errors: [{ status: 401, code: 'not_authenticated', title: 'Authentication credentials were not provided.', detail: 'Missing or invalid private key.' }] });
    }
    if (auth !== `Klaviyo-API-Key ${apiKey}`) {
      return reply(res, 403, { errors: [{ status: 403, code: 'permission_denied', title: 'You do not have permission to perform this action.', detail: 'Invalid private key.' }] });
    }
    const revision = req.headers.revision;
    if (typeof revision !== 'string' || !/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(revision)) {
      return reply(res, 400, { errors: [invalid('A valid revision header (YYYY-MM-DD) is required.', { parameter: 'revision' })] });
    }
    if (method !== 'GET') {
      if (!/json/.test(req.headers['content-type'] ?? '')) return reply(res, 415, { errors: [{ status: 415, code: 'unsupported_media_type', title: 'Unsupported media type.', detail: 'Use application/vnd.api+json.' }] });
      if (!parsed || typeof body !== 'object' || body === null) return reply(res, 400, { errors: [invalid('JSON parse error.')] });
    }
    try {
      const [status, payload] = route(method, u.pathname, u.searchParams, body, raw.length);
      reply(res, status, payload);
    } catch (err) {
      if (err instanceof HttpError) reply(res, err.status, { errors: err.errors.map((e) => ({ id: randomUUID(), ...e, links: {}, meta: {} })) });
      else reply(res, 500, { errors: [{ status: 500, code: 'error', title: String(err), detail: String(err) }] });
    }
  }

  const server = await listenLocal(faults, (req, res, raw) => void handle(req, res, raw));
  url = server.url;

  return {
    url,
    state,
    requests,
    inject: (fault) => faults.add(fault),
    find,
    members: (listId) =>
      [...(state.lists.get(listId) ?? [])].map((id) => String(state.profiles.get(id)?.attributes.email ?? id)).sort(),
    close: server.close,
  };
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/vnd.api+json', ...headers });
  res.end(JSON.stringify(body));
}
