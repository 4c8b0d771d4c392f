/**
 * BigQuery failures as messages a user can act on. Set-up problems (credentials, network,
 * permissions, a missing dataset, the bytes-billed cap) become CdpErrors naming the target's
 * project and dataset and what to fix; SQL errors stay plain Errors carrying BigQuery's own
 * message, so the runner adds the path of the compiled SQL. Key material and access tokens
 * never appear: only the project, dataset, location, endpoint and key file path.
 */
import { CdpError } from '../../../src/errors.js';

export interface BigQueryTarget {
  project: string;
  dataset?: string;
  location?: string;
  endpoint: string;
  keyfile?: string;
}

interface ApiErrorShape {
  code?: number | string;
  message?: string;
  errors?: { reason?: string; message?: string }[];
  response?: { statusCode?: number };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** BigQuery's error for a query that failed: reason (invalidQuery, notFound, ...) and message. */
export class BigQueryQueryError extends Error {
  constructor(
    message: string,
    readonly reason: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BigQueryQueryError';
  }
}

export function describeTarget(t: BigQueryTarget): string {
  return `BigQuery project "${t.project}"${t.dataset ? `, dataset "${t.dataset}"` : ''}`;
}

function reasonsOf(err: ApiErrorShape): string[] {
  return (err.errors ?? []).map((e) => e.reason ?? '').filter(Boolean);
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string') {
      const m = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/.exec(message);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** Strips anything token-like a library might have echoed back. */
function clean(message: string): string {
  return message.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer ***').replace(/-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----/g, '***');
}

/**
 * Maps any client failure. `what` says what was being done ("checking the dataset", "loading
 * analytics.users") for set-up errors.
 */
export function mapError(err: unknown, target: BigQueryTarget, what?: string): Error {
  if (err instanceof CdpError || err instanceof BigQueryQueryError) return err;
  const api = (err ?? {}) as ApiErrorShape;
  const message = clean(api.message ?? String(err));
  const status = typeof api.code === 'number' ? api.code : api.response?.statusCode;
  const reasons = reasonsOf(api);
  const who = describeTarget(target);
  const doing = what ? ` while ${what}` : '';

  const net = networkCode(err);
  if (net) {
    return new CdpError(`Cannot reach BigQuery at ${target.endpoint} for ${who}${doing} (${net})`, {
      hint: 'Check the network connection, any proxy or firewall, and the target\'s api_endpoint if one is set.',
      cause: err,
    });
  }
  if (/Could not load the default credentials|Could not refresh access token|invalid_grant|unauthorized_client/i.test(message) || status === 401) {
    const how = target.keyfile
      ? `Check the key file ${target.keyfile}: it must be a current service-account JSON key of a project that can use BigQuery.`
      : 'Set `keyfile:` in the target to a service-account JSON key, or log in with `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS).';
    return new CdpError(`BigQuery did not accept the credentials for ${who}${doing}`, { hint: how, cause: err });
  }
  if (reasons.includes('bytesBilledLimitExceeded')) {
    return new CdpError(`A query on ${who} would bill more bytes than the target's maximum_bytes_billed allows: ${message}`, {
      hint: 'Raise maximum_bytes_billed in the target, or make the model read less (filter partitions, select fewer columns). `cdp run --dry-run` shows the bytes each model would process.',
      cause: err,
    });
  }
  if (status === 403 || reasons.includes('accessDenied')) {
    return new CdpError(`Permission denied on ${who}${doing}: ${message}`, {
      hint:
        'The account needs BigQuery Job User on the project, BigQuery Data Editor on the datasets cdp writes, and BigQuery Data Viewer on the source datasets. See docs/warehouses/bigquery.md.',
      cause: err,
    });
  }
  if (status !== undefined && status >= 500) {
    return new CdpError(`BigQuery returned a server error for ${who}${doing}: ${message}`, { hint: 'Retry in a moment; BigQuery may be having a transient problem.', cause: err });
  }
  return new BigQueryQueryError(`BigQuery: ${message}`, reasons[0], { cause: err });
}

export function missingDataset(target: BigQueryTarget, dataset: string): CdpError {
  const where = target.location ? ` --location=${target.location}` : '';
  return new CdpError(`Dataset "${target.project}:${dataset}" does not exist (${describeTarget(target)})`, {
    hint: `Create it (bq mk --dataset${where} ${target.project}:${dataset}) or fix the target's project and dataset.`,
  });
}

export function isNotFound(err: unknown): boolean {
  const api = (err ?? {}) as ApiErrorShape;
  return api.code === 404 || reasonsOf(api).includes('notFound');
}
