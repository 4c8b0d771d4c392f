/**
 * A HubSpot stand-in for contract tests: the CRM v3 batch upsert/read endpoints and the
 * lists v3 membership endpoints, validating every request as HubSpot documents it (bearer
 * token, JSON body shape, 100 inputs per batch) and keeping records and list memberships in
 * memory. Tests inject faults: 429 with Retry-After, 5xx, connection resets, slow answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultQueue, listenLocal, type Fault } from './faults.js';

export type { Fault };

export interface HubSpotRecord {
  id: string;
  properties: Record<string, string>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** How the server reports inputs with invalid values. */
export type InvalidRowStyle =
  /** 400, nothing applied, `errors[].context.ids` names the bad inputs. */
  | 'batch-error'
  /** 207, valid inputs applied, `errors[].context.ids` names the bad inputs. */
  | 'multi-status'
  /** 400, nothing applied, no hint which input was bad. */
  | 'opaque';

export interface HubSpotState {
  /** Records by object type, then by record id. */
  objects: Map<string, Map<string, HubSpotRecord>>;
  lists: Map<string, { processingType: 'MANUAL' | 'SNAPSHOT' | 'DYNAMIC'; members: Set<string> }>;
}

export interface HubSpotServerOptions {
  token?: string;
  invalidRowStyle?: InvalidRowStyle;
  /** Properties that may serve as `idProperty`, per object type. */
  uniqueProperties?: Record<string, string[]>;
  /** When false, upsert results carry no properties (so clients must look ids up). */
  upsertReturnsProperties?: boolean;
}

export interface HubSpotServer {
  url: string;
  state: HubSpotState;
  requests: LoggedRequest[];
  options: Required<HubSpotServerOptions>;
  inject(fault: Fault): void;
  /** Finds a record by a property value (emails compare case-insensitively, as in HubSpot). */
  find(objectType: string, property: string, value: string): HubSpotRecord | undefined;
  close(): Promise<void>;
}

export const BATCH_LIMIT = 100;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`HTTP ${status}`);
  }
}

const validationError = (message: string, extra: Record<string, unknown> = {}) =>
  new HttpError(400, { status: 'error', message, correlationId: 'test', category: 'VALIDATION_ERROR', ...extra });

export async function startHubSpotServer(opts: HubSpotServerOptions = {}): Promise<HubSpotServer> {
  const options: Required<HubSpotServerOptions> = {
    token: opts.token ?? 'hs-test-token',
    invalidRowStyle: opts.invalidRowStyle ?? 'batch-error',
    uniqueProperties: opts.uniqueProperties ?? { contacts: ['email', 'hs_object_id', 'customer_id'], companies: ['domain', 'hs_object_id'] },
    upsertReturnsProperties: opts.upsertReturnsProperties ?? true,
  };
  const state: HubSpotState = { objects: new Map([['contacts', new Map()], ['companies', new Map()]]), lists: new Map() };
  const requests: LoggedRequest[] = [];
  const faults = new FaultQueue();
  let nextId = 1001;

  const same = (property: string, a: string, b: string) => (property === 'email' ? a.toLowerCase() === b.toLowerCase() : a === b);
  const find = (objectType: string, property: string, value: string) => {
    for (const r of state.objects.get(objectType)?.values() ?? []) {
      const v = property === 'hs_object_id' ? r.id : r.properties[property];
      if (v !== undefined && same(property, v, value)) return r;
    }
    return undefined;
  };

  function store(objectType: string): Map<string, HubSpotRecord> {
    const s = state.objects.get(objectType);
    if (!s) throw new HttpError(404, { status: 'error', message: `Unable to infer object type from: ${objectType}`, category: 'OBJECT_NOT_FOUND' });
    return s;
  }

  function checkIdProperty(objectType: string, idProperty: unknown): string {
    if (typeof idProperty !== 'string' || !idProperty) throw validationError('idProperty is required');
    if (!(options.uniqueProperties[objectType] ?? []).includes(idProperty)) {
      throw validationError(`Property ${idProperty} is not a unique identifier property for ${objectType}`);
    }
    return idProperty;
  }

  function batchInputs(body: unknown): Record<string, unknown>[] {
    const inputs = (body as { inputs?: unknown })?.inputs;
    if (!Array.isArray(inputs) || inputs.length === 0) throw validationError('inputs must be a non-empty array');
    if (inputs.length > BATCH_LIMIT) throw validationError(`Batch input limit exceeded: ${inputs.length} inputs, at most ${BATCH_LIMIT}`);
    for (const i of inputs) if (typeof i !== 'object' || i === null || Array.isArray(i)) throw validationError('each input must be an object');
    return inputs as Record<string, unknown>[];
  }

  function upsert(objectType: string, body: unknown): [number, unknown] {
    const records = store(objectType);
    const inputs = batchInputs(body);
    const seen = new Set<string>();
    const invalid: { id: string; message: string; code: string }[] = [];
    const valid: { idProperty: string; id: string; properties: Record<string, string> }[] = [];
    for (const input of inputs) {
      const idProperty = checkIdProperty(objectType, input.idProperty);
      const id = input.id;
      if (typeof id !== 'string' || id === '') throw validationError('each input needs a string id (the idProperty value)');
      const props = input.properties;
      if (typeof props !== 'object' || props === null || Array.isArray(props)) throw validationError('each input needs a properties object');
      const properties: Record<string, string> = {};
      for (const [k, v] of Object.entries(props)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw validationError(`Property values were not valid: ${k} must be a string, number or boolean`);
        }
        properties[k] = String(v);
      }
      const dedupe = idProperty === 'email' ? id.toLowerCase() : id;
      if (seen.has(dedupe)) throw validationError('Duplicate IDs found in batch input', { context: { ids: [id] } });
      seen.add(dedupe);
      const email = idProperty === 'email' ? id : properties.email;
      if (email !== undefined && email !== '' && !EMAIL.test(email)) invalid.push({ id, message: `Email address ${email} is invalid`, code: 'INVALID_EMAIL' });
      else valid.push({ idProperty, id, properties });
    }
    if (invalid.length && options.invalidRowStyle !== 'multi-status') {
      const errors = invalid.map((e) => ({ message: e.message, code: e.code, context: { ids: [e.id] } }));
      throw validationError('Property values were not valid', options.invalidRowStyle === 'batch-error' ? { errors } : {});
    }
    const now = new Date().toISOString();
    const results = valid.map(({ idProperty, id, properties }) => {
      let record = find(objectType, idProperty, id);
      const created = !record;
      if (!record) {
        record = { id: String(nextId++), properties: {} };
        records.set(record.id, record);
        if (idProperty !== 'hs_object_id') record.properties[idProperty] = idProperty === 'email' ? id.toLowerCase() : id;
      }
      for (const [k, v] of Object.entries(properties)) {
        if (v === '') delete record.properties[k];
        else record.properties[k] = k === 'email' ? v.toLowerCase() : v;
      }
      return {
        id: record.id,
        properties: options.upsertReturnsProperties ? { ...record.properties, hs_object_id: record.id } : {},
        new: created,
        archived: false,
        createdAt: now,
        updatedAt: now,
      };
    });
    const done = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
    if (!invalid.length) return [200, done];
    return [
      207,
      {
        ...done,
        numErrors: invalid.length,
        errors: invalid.map((e) => ({ status: 'error', category: 'VALIDATION_ERROR', message: e.message, context: { ids: [e.id] } })),
      },
    ];
  }

  function read(objectType: string, body: unknown): [number, unknown] {
    store(objectType);
    const idProperty = checkIdProperty(objectType, (body as { idProperty?: unknown }).idProperty ?? 'hs_object_id');
    const inputs = batchInputs(body);
    const wanted = (body as { properties?: unknown }).properties;
    if (wanted !== undefined && (!Array.isArray(wanted) || wanted.some((p) => typeof p !== 'string'))) throw validationError('properties must be an array of names');
    const results: HubSpotRecord[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      if (typeof input.id !== 'string') throw validationError('each input needs a string id');
      const r = find(objectType, idProperty, input.id);
      if (!r) missing.push(input.id);
      else {
        const properties: Record<string, string> = { hs_object_id: r.id };
        for (const p of (wanted as string[] | undefined) ?? []) if (r.properties[p] !== undefined) properties[p] = r.properties[p];
        results.push({ id: r.id, properties });
      }
    }
    const now = new Date().toISOString();
    const done = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
    if (!missing.length) return [200, done];
    const message = `Could not get some ${objectType.toUpperCase()} objects, they may be deleted or not exist.`;
    return [207, { ...done, numErrors: 1, errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message, context: { ids: missing } }] }];
  }

  function membership(listId: string, action: string, body: unknown): [number, unknown] {
    const list = state.lists.get(listId);
    if (!list) throw new HttpError(404, { status: 'error', message: `List ${listId} does not exist.`, category: 'OBJECT_NOT_FOUND' });
    if (list.processingType === 'DYNAMIC') throw validationError(`List ${listId} is a DYNAMIC list; memberships cannot be changed by hand.`);
    const strings = (v: unknown, name: string): string[] => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw validationError(`${name} must be an array of record id strings`);
      return v as string[];
    };
    let add: string[] = [];
    let remove: string[] = [];
    if (action === 'add') add = strings(body, 'body');
    else if (action === 'remove') remove = strings(body, 'body');
    else {
      const b = (body ?? {}) as { recordIdsToAdd?: unknown; recordIdsToRemove?: unknown };
      add = strings(b.recordIdsToAdd ?? [], 'recordIdsToAdd');
      remove = strings(b.recordIdsToRemove ?? [], 'recordIdsToRemove');
    }
    const contacts = state.objects.get('contacts')!;
    const recordIdsAdded: string[] = [];
    const recordIdsRemoved: string[] = [];
    const recordIdsMissing: string[] = [];
    for (const id of add) {
      if (!contacts.has(id)) recordIdsMissing.push(id);
      else if (!list.members.has(id)) {
        list.members.add(id);
        recordIdsAdded.push(id);
      }
    }
    for (const id of remove) {
      if (!contacts.has(id)) recordIdsMissing.push(id);
      else if (list.members.delete(id)) recordIdsRemoved.push(id);
    }
    return [200, { recordIdsAdded, recordIdsRemoved, recordIdsMissing }];
  }

  function route(method: string, path: string, body: unknown): [number, unknown] {
    let m = /^\/crm\/v3\/objects\/([^/]+)\/batch\/(upsert|read)$/.exec(path);
    if (m && method === 'POST') return m[2] === 'upsert' ? upsert(decodeURIComponent(m[1]), body) : read(decodeURIComponent(m[1]), body);
    m = /^\/crm\/v3\/lists\/([^/]+)\/memberships\/(add|remove|add-and-remove)$/.exec(path);
    if (m && method === 'PUT') return membership(decodeURIComponent(m[1]), m[2], body);
    throw new HttpError(404, { status: 'error', message: `No route for ${method} ${path}`, category: 'NOT_FOUND' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    const settled = await faults.actOut(path, req, res, (fault, headers) => {
      const message = fault.status === 429 ? 'You have reached your secondly limit.' : 'An internal error occurred.';
      const payload = fault.status === 429 ? { status: 'error', message, errorType: 'RATE_LIMIT', policyName: 'SECONDLY' } : { status: 'error', message, category: 'INTERNAL_ERROR' };
      reply(res, fault.status, fault.body ?? payload, headers);
    });
    if (settled) return;
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return reply(res, 401, {
        status: 'error',
        message: 'Authentication credentials not found. This API supports OAuth 2.0 authentication.',
        category: 'INVALID_AUTHENTICATION',
      });
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return reply(res, 415, { status: 'error', message: 'Content-Type must be application/json', category: 'VALIDATION_ERROR' });
    }
    if (typeof body !== 'object' || body === null) return reply(res, 400, { status: 'error', message: 'Invalid input JSON', category: 'VALIDATION_ERROR' });
    try {
      const [status, payload] = route(req.method ?? '', path, body);
      reply(res, status, payload);
    } catch (err) {
      if (err instanceof HttpError) reply(res, err.status, err.body);
      else reply(res, 500, { status: 'error', message: String(err) });
    }
  }

  const server = await listenLocal(faults, (req, res, raw) => void handle(req, res, raw.toString('utf8')));

  return {
    url: server.url,
    state,
    requests,
    options,
    inject: (fault) => faults.add(fault),
    find,
    close: server.close,
  };
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
