/**
 * A stand-in for Google Ads' OfflineUserDataJobService (REST) that holds the connector to the
 * documented contract, and to ours: no plain-text PII, ever. Jobs go PENDING -> (run) -> SUCCESS;
 * operations are staged on the job and change the list only when it runs. A breach is answered
 * with an error and recorded in state.violations, so a test can assert there were none.
 */
import type http from 'node:http';
import { FaultQueue, serve, sendJson, SHA256_HEX, type Fault } from './faults.js';

export interface GoogleAdsServerOptions {
  customerId: string;
  userListId: string;
  accessToken: string;
  developerToken: string;
  /** When set, requests must carry this login-customer-id header. */
  loginCustomerId?: string;
  apiVersion?: string;
  /** Identifiers per addOperations request; Google documents 100,000. */
  maxIdentifiers?: number;
  /** Operations per addOperations request, for tests that check the connector's batching. */
  maxOperations?: number;
  /** Hashes the test expects per identifier; anything else means the wrong normalisation (e.g. a dropped `+`). */
  expected?: Partial<Record<'hashedEmail' | 'hashedPhoneNumber' | 'hashedFirstName' | 'hashedLastName', string[]>>;
}

export type GoogleAdsFault =
  | Fault
  /** From now on, operations containing one of these hashes fail individually (partial failure). */
  | { kind: 'invalid'; values: string[] };

type Kind = 'create' | 'remove';

interface Identifier {
  hashedEmail?: string;
  hashedPhoneNumber?: string;
  addressInfo?: { hashedFirstName?: string; hashedLastName?: string; countryCode?: string; postalCode?: string };
}

export interface Job {
  resourceName: string;
  status: 'PENDING' | 'RUNNING' | 'SUCCESS';
  kind?: Kind;
  staged: { kind: Kind; identifiers: Identifier[] }[];
  runs: number;
}

export interface GoogleAdsRequest {
  path: string;
  operations: number;
  identifiers: number;
  body: string;
}

export interface GoogleAdsState {
  /** List membership after the jobs ran, by hashed email / phone / `firstHash:lastHash`. */
  emails: Set<string>;
  phones: Set<string>;
  names: Set<string>;
  jobs: Map<string, Job>;
  /** addOperations requests that passed validation. */
  requests: GoogleAdsRequest[];
  violations: string[];
  authFailures: number;
}

export interface GoogleAdsServer {
  url: string;
  state: GoogleAdsState;
  inject(fault: GoogleAdsFault): void;
  close(): Promise<void>;
}

class Reject extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly errorCode: Record<string, string> = { requestError: 'INVALID_INPUT' },
    readonly violation = true,
  ) {
    super(message);
  }
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND' };

export async function startGoogleAdsServer(options: GoogleAdsServerOptions): Promise<GoogleAdsServer> {
  const version = options.apiVersion ?? 'v21';
  const maxIdentifiers = options.maxIdentifiers ?? 100_000;
  const maxOperations = options.maxOperations ?? Number.POSITIVE_INFINITY;
  const expected = new Map(Object.entries(options.expected ?? {}).map(([k, v]) => [k, new Set(v)]));
  const invalid = new Set<string>();
  const faults = new FaultQueue();
  let nextId = 1000;
  const state: GoogleAdsState = { emails: new Set(), phones: new Set(), names: new Set(), jobs: new Map(), requests: [], violations: [], authFailures: 0 };
  const failure = (errors: unknown[]) => ({ '@type': `type.googleapis.com/google.ads.googleads.${version}.errors.GoogleAdsFailure`, errors, requestId: 'contract' });

  const handle = (req: http.IncomingMessage, text: string, res: http.ServerResponse): void => {
    try {
      sendJson(res, 200, route(req, text));
    } catch (err) {
      if (!(err instanceof Reject)) throw err;
      if (err.violation) state.violations.push(err.message);
      sendJson(res, err.status, {
        error: { code: err.status, message: err.message, status: STATUS_NAMES[err.status] ?? 'UNKNOWN', details: [failure([{ errorCode: err.errorCode, message: err.message }])] },
      });
    }
  };

  const route = (req: http.IncomingMessage, text: string): unknown => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = /^\/(v\d+)\/customers\/(\d+)\/offlineUserDataJobs(?::create|\/(\d+):(addOperations|run))$/.exec(path);
    if (req.method !== 'POST' || !m || m[1] !== version) throw new Reject(`unknown method or path ${req.method} ${path}`, 404);
    authenticate(req, m[2]);
    if (!(req.headers['content-type'] ?? '').includes('application/json')) throw new Reject('body must be JSON');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Reject('body is not valid JSON');
    }
    if (!m[3]) return createJob(m[2], body);
    const job = state.jobs.get(`customers/${m[2]}/offlineUserDataJobs/${m[3]}`);
    if (!job) throw new Reject(`job ${m[3]} does not exist`, 404, { requestError: 'RESOURCE_NOT_FOUND' });
    return m[4] === 'run' ? runJob(job) : addOperations(job, body, text, path);
  };

  const authenticate = (req: http.IncomingMessage, customerId: string): void => {
    const deny = (status: number, message: string, errorCode: Record<string, string>) => {
      state.authFailures += 1;
      return new Reject(message, status, errorCode, false);
    };
    if (req.headers.authorization !== `Bearer ${options.accessToken}`) {
      throw deny(401, 'Request had invalid authentication credentials.', { authenticationError: 'OAUTH_TOKEN_INVALID' });
    }
    if (req.headers['developer-token'] !== options.developerToken) {
      throw deny(401, 'The developer token is not valid.', { authenticationError: 'DEVELOPER_TOKEN_INVALID' });
    }
    if (options.loginCustomerId !== undefined && req.headers['login-customer-id'] !== options.loginCustomerId) {
      throw deny(403, "The caller does not have permission (login-customer-id missing or wrong).", { authorizationError: 'USER_PERMISSION_DENIED' });
    }
    if (customerId !== options.customerId) throw deny(403, `no access to customer ${customerId}`, { authorizationError: 'USER_PERMISSION_DENIED' });
  };

  const createJob = (customerId: string, body: Record<string, unknown>) => {
    const job = body.job as { type?: unknown; customerMatchUserListMetadata?: { userList?: unknown } } | undefined;
    if (job?.type !== 'CUSTOMER_MATCH_USER_LIST') throw new Reject('job.type must be CUSTOMER_MATCH_USER_LIST');
    const list = job.customerMatchUserListMetadata?.userList;
    if (typeof list !== 'string' || !/^customers\/\d+\/userLists\/\d+$/.test(list)) {
      throw new Reject('job.customerMatchUserListMetadata.userList must be a user list resource name');
    }
    if (list !== `customers/${customerId}/userLists/${options.userListId}`) {
      throw new Reject(`user list ${list} is not a Customer Match list of this customer`, 400, { offlineUserDataJobError: 'INVALID_USER_LIST_ID' }, false);
    }
    const resourceName = `customers/${customerId}/offlineUserDataJobs/${nextId++}`;
    state.jobs.set(resourceName, { resourceName, status: 'PENDING', staged: [], runs: 0 });
    return { resourceName };
  };

  const addOperations = (job: Job, body: Record<string, unknown>, text: string, path: string) => {
    if (job.status !== 'PENDING') throw new Reject(`job ${job.resourceName} already ran; it takes no more operations`, 400, { offlineUserDataJobError: 'JOB_ALREADY_STARTED' });
    if (body.enablePartialFailure !== true) throw new Reject('enablePartialFailure must be true');
    if (text.includes('@')) throw new Reject('plain-text email in request body');
    const ops = body.operations;
    if (!Array.isArray(ops) || ops.length === 0) throw new Reject('operations must be a non-empty list');
    if (ops.length > maxOperations) throw new Reject(`${ops.length} operations in one request; at most ${maxOperations}`);
    const parsed = ops.map((op, i) => checkOperation(op, i));
    const identifiers = parsed.reduce((n, p) => n + p.identifiers.length, 0);
    if (identifiers > maxIdentifiers) {
      throw new Reject(`${identifiers} identifiers in one request; at most ${maxIdentifiers}`, 400, { offlineUserDataJobError: 'TOO_MANY_USER_IDENTIFIERS' });
    }
    const kinds = new Set([...parsed.map((p) => p.kind), ...(job.kind ? [job.kind] : [])]);
    if (kinds.size > 1) throw new Reject('a job cannot mix create and remove operations');
    job.kind = parsed[0].kind;
    const errors: unknown[] = [];
    parsed.forEach((p, i) => {
      const bad = p.identifiers.findIndex((id) => hashesOf(id).some((h) => invalid.has(h)));
      if (bad < 0) return void job.staged.push(p);
      errors.push({
        errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' },
        message: 'The SHA256 encoded value is malformed.',
        location: { fieldPathElements: [{ fieldName: 'operations', index: i }, { fieldName: p.kind }, { fieldName: 'user_identifiers', index: bad }] },
      });
    });
    state.requests.push({ path, operations: ops.length, identifiers, body: text });
    if (errors.length === 0) return {};
    return { partialFailureError: { code: 3, message: 'Multiple errors in details.', details: [failure(errors)] } };
  };

  const checkOperation = (op: unknown, i: number): { kind: Kind; identifiers: Identifier[] } => {
    const keys = op && typeof op === 'object' ? Object.keys(op) : [];
    if (keys.length !== 1 || (keys[0] !== 'create' && keys[0] !== 'remove')) throw new Reject(`operations[${i}] must have exactly one of create, remove`);
    const kind = keys[0] as Kind;
    const ids = (op as Record<Kind, { userIdentifiers?: unknown }>)[kind]?.userIdentifiers;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 20) throw new Reject(`operations[${i}].${kind}.userIdentifiers must hold 1 to 20 identifiers`);
    ids.forEach((id, j) => checkIdentifier(id, `operations[${i}].${kind}.userIdentifiers[${j}]`));
    return { kind, identifiers: ids as Identifier[] };
  };

  const checkHash = (field: string, value: unknown, where: string): void => {
    if (typeof value !== 'string' || !SHA256_HEX.test(value)) throw new Reject(`${where}.${field} is not a lowercase SHA-256 hex digest (plain text?)`);
    const allowed = expected.get(field);
    if (allowed && !allowed.has(value)) throw new Reject(`${where}.${field} hash is not one the test expects (wrong normalisation?)`);
  };

  const checkIdentifier = (id: unknown, where: string): void => {
    const keys = id && typeof id === 'object' ? Object.keys(id) : [];
    if (keys.length !== 1) throw new Reject(`${where} must set exactly one identifier`);
    const value = (id as Record<string, unknown>)[keys[0]];
    if (keys[0] === 'hashedEmail' || keys[0] === 'hashedPhoneNumber') return checkHash(keys[0], value, where);
    if (keys[0] !== 'addressInfo' || !value || typeof value !== 'object') throw new Reject(`${where} has unknown identifier ${keys[0]}`);
    const a = value as Record<string, unknown>;
    const extra = Object.keys(a).filter((k) => !['hashedFirstName', 'hashedLastName', 'countryCode', 'postalCode'].includes(k));
    if (extra.length > 0) throw new Reject(`${where}.addressInfo has unexpected fields ${extra.join(', ')} (plain-text PII?)`);
    checkHash('hashedFirstName', a.hashedFirstName, `${where}.addressInfo`);
    checkHash('hashedLastName', a.hashedLastName, `${where}.addressInfo`);
  };

  const runJob = (job: Job) => {
    job.runs += 1;
    if (job.status !== 'PENDING') throw new Reject(`job ${job.resourceName} was already run`, 400, { offlineUserDataJobError: 'JOB_ALREADY_STARTED' });
    job.status = 'RUNNING';
    for (const { kind, identifiers } of job.staged) {
      for (const id of identifiers) {
        const [set, value] = id.hashedEmail
          ? [state.emails, id.hashedEmail]
          : id.hashedPhoneNumber
            ? [state.phones, id.hashedPhoneNumber]
            : [state.names, `${id.addressInfo!.hashedFirstName}:${id.addressInfo!.hashedLastName}`];
        if (kind === 'create') set.add(value);
        else set.delete(value);
      }
    }
    job.status = 'SUCCESS';
    return { name: `${job.resourceName.split('/offlineUserDataJobs/')[0]}/operations/${job.resourceName.split('/').pop()}` };
  };

  const server = await serve(faults, handle);
  return {
    url: server.url,
    state,
    inject(fault) {
      if (fault.kind === 'invalid') for (const v of fault.values) invalid.add(v);
      else faults.add(fault);
    },
    close: server.close,
  };
}

function hashesOf(id: Identifier): string[] {
  return [id.hashedEmail, id.hashedPhoneNumber, id.addressInfo?.hashedFirstName, id.addressInfo?.hashedLastName].filter((h): h is string => !!h);
}
