/**
 * `google_ads`: Customer Match through OfflineUserDataJobService (REST). Per sync run the
 * connector creates a job on the first batch, adds each batch to it with partial failure on,
 * and runs it in finish(). Google refuses jobs that mix creates and removes, so a run that
 * does both gets two jobs. Rows are `ok` once Google accepted the operation; Google then
 * processes the job asynchronously (hours), which no run waits for.
 */
import { checkedFactory } from '../../../src/destination/checked-factory.js';
import { request, type HttpResult } from '../../../src/destination/http.js';
import {
  FatalDestinationError,
  RetryableBatchError,
  type DeliveryContext,
  type Destination,
  type DestinationCapabilities,
  type Operation,
  type RowOutcome,
} from '../../../src/destination/types.js';
import { checkGoogleAdsConfig, googleAdsSettings, type GoogleAdsSettings } from './config.js';
import {
  googleAdsErrors,
  MAX_IDENTIFIERS_PER_REQUEST,
  NO_IDENTIFIER,
  reasonsByOperation,
  userIdentifiers,
  type GoogleAdsError,
  type UserIdentifier,
} from './user-data.js';

export { GOOGLE_MAX_OPERATIONS } from './config.js';

export const factory = checkedFactory({
  type: 'google_ads',
  validateConfig: checkGoogleAdsConfig,
  refusal: 'invalid google_ads destination',
  build: (config) => new CustomerMatchList(googleAdsSettings(config)),
});

/** The OfflineUserDataJobOperation field a row becomes. */
type Kind = 'create' | 'remove';

interface PreparedRow {
  key: string;
  identifiers: UserIdentifier[];
}

type RunContext = Omit<DeliveryContext, 'batchId'>;

/** Error families that mean the credentials or account access are wrong, whatever the status. */
const FATAL_FAMILIES = new Set(['authenticationError', 'authorizationError', 'headerError']);

class CustomerMatchList implements Destination {
  readonly type = 'google_ads';
  readonly capabilities: DestinationCapabilities;
  private readonly api: string;
  private readonly headers: Record<string, string>;
  /** Jobs of the runs in progress, by (sync, run, kind). A promise, so concurrent first batches share one job. */
  private readonly jobs = new Map<string, Promise<string>>();

  constructor(private readonly settings: GoogleAdsSettings) {
    this.api = `${settings.baseUrl}/${settings.apiVersion}`;
    this.headers = {
      authorization: `Bearer ${settings.accessToken}`,
      'developer-token': settings.developerToken,
      'content-type': 'application/json',
      ...(settings.loginCustomerId ? { 'login-customer-id': settings.loginCustomerId } : {}),
    };
    this.capabilities = {
      modes: ['audience'],
      batchSize: settings.batchSize,
      concurrency: settings.concurrency,
      requestsPerSecond: settings.requestsPerSecond,
      supportsRemoval: true,
      identifiers: [
        { field: 'email', prepare: 'sha256_email' },
        { field: 'phone', prepare: 'sha256_phone_e164' },
        { field: 'first_name', prepare: 'sha256_name' },
        { field: 'last_name', prepare: 'sha256_name' },
      ],
      acceptedFields: ['email', 'phone', 'first_name', 'last_name', 'country_code', 'postal_code'],
    };
  }

  async send(batch: Operation[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const outcomes: RowOutcome[] = [];
    const byKind: Record<Kind, PreparedRow[]> = { create: [], remove: [] };
    for (const op of batch) {
      if (op.op !== 'add' && op.op !== 'remove') {
        outcomes.push(rejected(op.key, `Customer Match lists take add and remove, not ${op.op}`));
        continue;
      }
      const identifiers = userIdentifiers(op.fields);
      if (identifiers.length === 0) outcomes.push(rejected(op.key, NO_IDENTIFIER));
      else byKind[op.op === 'add' ? 'create' : 'remove'].push({ key: op.key, identifiers });
    }
    for (const kind of ['create', 'remove'] as const) {
      for (const chunk of this.requestChunks(byKind[kind])) outcomes.push(...(await this.addOperations(kind, chunk, ctx)));
    }
    return outcomes;
  }

  async finish(ctx: RunContext): Promise<void> {
    for (const kind of ['create', 'remove'] as const) {
      const name = jobKey(ctx, kind);
      const job = this.jobs.get(name);
      if (!job) continue;
      const resourceName = await job.catch(() => undefined);
      if (resourceName === undefined) {
        this.jobs.delete(name);
        continue;
      }
      const res = await request(`${this.api}/${resourceName}:run`, { body: '{}', headers: this.headers, signal: ctx.signal, timeoutMs: this.settings.timeoutMs });
      // Kept until it ran, so a finish() retried after a retryable error runs it again.
      if (res.status >= 200 && res.status < 300) {
        this.jobs.delete(name);
        continue;
      }
      throw new FatalDestinationError(`Google Ads could not run offline user data job ${resourceName}: ${describe(res)}`);
    }
  }

  /** Slices at batchSize operations and at Google's identifier cap per request, whichever comes first. */
  private *requestChunks(rows: PreparedRow[]): Generator<PreparedRow[]> {
    let chunk: PreparedRow[] = [];
    let identifiers = 0;
    for (const row of rows) {
      if (chunk.length === this.settings.batchSize || identifiers + row.identifiers.length > MAX_IDENTIFIERS_PER_REQUEST) {
        yield chunk;
        chunk = [];
        identifiers = 0;
      }
      chunk.push(row);
      identifiers += row.identifiers.length;
    }
    if (chunk.length > 0) yield chunk;
  }

  private async addOperations(kind: Kind, rows: PreparedRow[], ctx: DeliveryContext): Promise<RowOutcome[]> {
    const resourceName = await this.job(kind, ctx);
    const body = JSON.stringify({
      enablePartialFailure: true,
      operations: rows.map((r) => ({ [kind]: { userIdentifiers: r.identifiers } })),
    });
    const res = await request(`${this.api}/${resourceName}:addOperations`, { body, headers: this.headers, signal: ctx.signal, timeoutMs: this.settings.timeoutMs });
    if (res.status >= 200 && res.status < 300) {
      const reasons = reasonsByOperation(googleAdsErrors((res.body as { partialFailureError?: unknown } | undefined)?.partialFailureError));
      return rows.map((r, i): RowOutcome => (reasons.has(i) ? rejected(r.key, reasons.get(i)!) : { key: r.key, status: 'ok' }));
    }
    if (res.status === 404) {
      // The job is gone (expired or removed): the next attempt starts a fresh one.
      this.jobs.delete(jobKey(ctx, kind));
      throw new RetryableBatchError(`Google Ads no longer knows offline user data job ${resourceName}`);
    }
    const errors = throwIfFatalOrRetryable(res);
    const reasons = reasonsByOperation(errors);
    const whole = describe(res);
    return rows.map((r, i) => rejected(r.key, reasons.get(i) ?? whole));
  }

  private job(kind: Kind, ctx: RunContext): Promise<string> {
    const name = jobKey(ctx, kind);
    let job = this.jobs.get(name);
    if (!job) {
      job = this.createJob(ctx);
      this.jobs.set(name, job);
      const created = job;
      // A failed creation is forgotten, so a retried batch tries again.
      created.catch(() => {
        if (this.jobs.get(name) === created) this.jobs.delete(name);
      });
    }
    return job;
  }

  private async createJob(ctx: RunContext): Promise<string> {
    const { customerId, userListId } = this.settings;
    const body = JSON.stringify({
      job: {
        type: 'CUSTOMER_MATCH_USER_LIST',
        customerMatchUserListMetadata: { userList: `customers/${customerId}/userLists/${userListId}` },
      },
    });
    const res = await request(`${this.api}/customers/${customerId}/offlineUserDataJobs:create`, {
      body,
      headers: this.headers,
      signal: ctx.signal,
      timeoutMs: this.settings.timeoutMs,
    });
    const resourceName = (res.body as { resourceName?: unknown } | undefined)?.resourceName;
    if (res.status >= 200 && res.status < 300 && typeof resourceName === 'string' && resourceName.startsWith(`customers/${customerId}/`)) {
      return resourceName;
    }
    throwIfFatalOrRetryable(res);
    // A list that does not exist or is not a Customer Match list fails every batch alike.
    throw new FatalDestinationError(`Google Ads could not create an offline user data job for user list ${userListId}: ${describe(res)}`);
  }
}

const jobKey = (ctx: RunContext, kind: Kind): string => `${ctx.sync}\u0000${ctx.runId}\u0000${kind}`;

function rejected(key: string, reason: string): RowOutcome {
  return { key, status: 'rejected', reason };
}

/** Auth failures Google reports with 400 are fatal; 409 (concurrent modification, aborted) is retryable. */
function throwIfFatalOrRetryable(res: HttpResult): GoogleAdsError[] {
  const errors = googleAdsErrors((res.body as { error?: unknown } | undefined)?.error);
  const fatal = errors.find((e) => FATAL_FAMILIES.has(e.family));
  if (fatal) throw new FatalDestinationError(`Google Ads refused the request (${fatal.code}): ${fatal.message}`);
  if (res.status === 409) throw new RetryableBatchError(`Google Ads reported a conflict (409): ${describe(res)}`);
  return errors;
}

function describe(res: HttpResult): string {
  const error = (res.body as { error?: { message?: string; status?: string } } | undefined)?.error;
  const detail = googleAdsErrors(error).map((e) => e.code).join(', ');
  if (error && typeof error === 'object') return `HTTP ${res.status} ${error.status ?? ''}: ${error.message ?? ''}${detail ? ` [${detail}]` : ''}`.replace(/\s+:/, ':');
  return `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
}
