/**
 * A Braze stand-in for contract tests: `POST /users/track`, validating every request as Braze
 * documents it (bearer REST key, JSON body, at most 75 attribute/event/purchase objects each,
 * an identifier per object) and keeping users and their attributes in memory. Invalid objects
 * come back as Braze's non-fatal `errors: [{type, input_array, index}]`; a request with no
 * usable object is refused with 400. Tests inject faults: 429 with Retry-After, 5xx,
 * connection resets, slow answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultQueue, listenLocal, type Fault } from './faults.js';

export type { Fault };

export interface BrazeUser {
  external_id?: string;
  email?: string;
  attributes: Record<string, unknown>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface BrazeState {
  users: BrazeUser[];
}

export interface BrazeServer {
  url: string;
  state: BrazeState;
  requests: LoggedRequest[];
  inject(fault: Fault): void;
  /** The user with this external_id or email. */
  user(id: { external_id?: string; email?: string }): BrazeUser | undefined;
  close(): Promise<void>;
}

export const OBJECT_LIMIT = 75;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const IDENTIFIERS = ['external_id', 'user_alias', 'braze_id', 'email', 'phone'];
const CONTROL = new Set(['_update_existing_only', 'push_token_import', ...IDENTIFIERS]);

type Minor = { type: string; input_array: string; index: number };

export async function startBrazeServer(opts: { apiKey?: string } = {}): Promise<BrazeServer> {
  const apiKey = opts.apiKey ?? 'braze-test-key';
  const state: BrazeState = { users: [] };
  const requests: LoggedRequest[] = [];
  const faults = new FaultQueue();

  const user = (id: { external_id?: string; email?: string }) =>
    id.external_id !== undefined
      ? state.users.find((u) => u.external_id === id.external_id)
      : state.users.find((u) => u.email !== undefined && u.email.toLowerCase() === id.email?.toLowerCase());

  /** Why an attribute value is not one Braze accepts, or undefined. */
  function badValue(v: unknown): string | undefined {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return undefined;
    if (Array.isArray(v)) return v.every((x) => x === null || ['string', 'number', 'boolean'].includes(typeof x)) ? undefined : 'array values must be scalars';
    if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      const ops = keys.filter((k) => ['add', 'remove', 'inc'].includes(k));
      if (ops.length === 0) return undefined; // a nested custom attribute
      if (ops.length !== keys.length) return 'cannot mix add/remove/inc with other keys';
      const o = v as { add?: unknown; remove?: unknown; inc?: unknown };
      if (o.add !== undefined && !Array.isArray(o.add)) return 'add takes an array';
      if (o.remove !== undefined && !Array.isArray(o.remove)) return 'remove takes an array';
      if (o.inc !== undefined && typeof o.inc !== 'number') return 'inc takes a number';
      return undefined;
    }
    return 'unsupported value';
  }

  function check(obj: unknown): string | undefined {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'Attributes object must be an object';
    const o = obj as Record<string, unknown>;
    if (!IDENTIFIERS.some((k) => o[k] !== undefined && o[k] !== null)) return "'external_id', 'user_alias', 'braze_id', 'email' or 'phone' is required";
    if (o.external_id !== undefined && typeof o.external_id !== 'string') return 'external_id must be a string';
    if (o.email !== undefined && (typeof o.email !== 'string' || !EMAIL.test(o.email))) return `Invalid email address: ${String(o.email)}`;
    if (o._update_existing_only !== undefined && typeof o._update_existing_only !== 'boolean') return '_update_existing_only must be a boolean';
    for (const [k, v] of Object.entries(o)) {
      if (CONTROL.has(k)) continue;
      const bad = badValue(v);
      if (bad) return `Invalid value for attribute ${k}: ${bad}`;
    }
    return undefined;
  }

  function apply(o: Record<string, unknown>): void {
    const id = { external_id: o.external_id as string | undefined, email: o.email as string | undefined };
    let u = user(id.external_id !== undefined ? { external_id: id.external_id } : { email: id.email });
    if (!u) {
      if (o._update_existing_only === true) return;
      u = { external_id: id.external_id, email: id.email, attributes: {} };
      state.users.push(u);
    }
    if (id.email !== undefined) u.email = id.email;
    for (const [k, v] of Object.entries(o)) {
      if (CONTROL.has(k)) continue;
      if (v === null) delete u.attributes[k];
      else if (typeof v === 'object' && !Array.isArray(v) && ('add' in v || 'remove' in v || 'inc' in v)) {
        const op = v as { add?: unknown[]; remove?: unknown[]; inc?: number };
        if (op.inc !== undefined) u.attributes[k] = Number(u.attributes[k] ?? 0) + op.inc;
        let arr = Array.isArray(u.attributes[k]) ? [...(u.attributes[k] as unknown[])] : [];
        for (const x of op.add ?? []) if (!arr.includes(x)) arr.push(x);
        if (op.remove) arr = arr.filter((x) => !op.remove!.includes(x));
        if (op.add || op.remove) u.attributes[k] = arr;
      } else u.attributes[k] = v;
    }
  }

  function track(body: unknown): [number, unknown] {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return [400, { message: 'Request body must be a JSON object' }];
    const b = body as Record<string, unknown>;
    for (const name of ['attributes', 'events', 'purchases']) {
      const arr = b[name];
      if (arr === undefined) continue;
      if (!Array.isArray(arr)) return [400, { message: `'${name}' must be an array` }];
      if (arr.length > OBJECT_LIMIT) return [400, { message: `Too many ${name} objects: ${arr.length}; at most ${OBJECT_LIMIT} per request` }];
    }
    const attributes = (b.attributes as unknown[] | undefined) ?? [];
    if (!attributes.length && !(b.events as unknown[] | undefined)?.length && !(b.purchases as unknown[] | undefined)?.length) {
      return [400, { message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields." }];
    }
    const errors: Minor[] = [];
    const valid: Record<string, unknown>[] = [];
    attributes.forEach((obj, index) => {
      const problem = check(obj);
      if (problem) errors.push({ type: problem, input_array: 'attributes', index });
      else valid.push(obj as Record<string, unknown>);
    });
    if (!valid.length) return [400, { message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.", errors }];
    valid.forEach(apply);
    return [201, { message: 'success', attributes_processed: valid.length, ...(errors.length ? { errors } : {}) }];
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: unknown;
    let parsed = true;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
      parsed = false;
    }
    requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    const settled = await faults.actOut(path, req, res, (fault, headers) =>
      reply(res, fault.status, fault.body ?? { message: fault.status === 429 ? 'Rate limit exceeded' : 'Internal Server Error' }, headers),
    );
    if (settled) return;
    if (req.method !== 'POST' || path !== '/users/track') return reply(res, 404, { message: `No route for ${req.method} ${path}` });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return reply(res, 401, { message: 'Invalid API key' });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(res, 400, { message: 'Content-Type must be application/json' });
    if (!parsed) return reply(res, 400, { message: 'Received unparsable JSON body' });
    const [status, payload] = track(body);
    reply(res, status, payload);
  }

  const server = await listenLocal(faults, (req, res, raw) => void handle(req, res, raw.toString('utf8')));

  return {
    url: server.url,
    state,
    requests,
    inject: (fault) => faults.add(fault),
    user,
    close: server.close,
  };
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
