/**
 * Google Ads connector settings: checked once (validateConfig) and read once (create).
 * Secrets are never quoted back in messages.
 */
import { checkPositiveInt, checkPositiveNumber, checkSecret, checkUrl, type ConfigProblems } from '../../../src/destination/config-checks.js';
import { DEFAULT_TIMEOUT_MS } from '../../../src/destination/http.js';

/** Operations per addOperations request that we allow; Google caps a request at 100,000 identifiers. */
export const GOOGLE_MAX_OPERATIONS = 100_000;
/** Google's recommended request size, well under the identifier cap. */
const DEFAULT_BATCH = 10_000;

export interface GoogleAdsSettings {
  customerId: string;
  userListId: string;
  loginCustomerId: string | undefined;
  developerToken: string;
  accessToken: string;
  apiVersion: string;
  baseUrl: string;
  batchSize: number;
  concurrency: number;
  requestsPerSecond: number | undefined;
  timeoutMs: number;
}

export function checkGoogleAdsConfig(config: Record<string, unknown>): ConfigProblems {
  const problems: ConfigProblems = [];
  checkNumericId(config, 'customer_id', problems, true);
  checkNumericId(config, 'user_list_id', problems, true);
  checkNumericId(config, 'login_customer_id', problems, false);
  checkSecret(config, 'developer_token', problems);
  checkSecret(config, 'access_token', problems);
  if (config.api_version !== undefined && !(typeof config.api_version === 'string' && /^v\d+$/.test(config.api_version))) {
    problems.push(['api_version', 'api_version must look like "v21"']);
  }
  checkUrl(config, 'base_url', problems);
  checkPositiveInt(config, 'batch_size', problems, GOOGLE_MAX_OPERATIONS);
  checkPositiveInt(config, 'concurrency', problems);
  checkPositiveInt(config, 'timeout_ms', problems);
  checkPositiveNumber(config, 'requests_per_second', problems);
  return problems;
}

/** Call after checkGoogleAdsConfig returned no problems. */
export function googleAdsSettings(config: Record<string, unknown>): GoogleAdsSettings {
  return {
    customerId: idText(config.customer_id)!,
    userListId: idText(config.user_list_id)!,
    loginCustomerId: idText(config.login_customer_id),
    developerToken: String(config.developer_token),
    accessToken: String(config.access_token),
    apiVersion: typeof config.api_version === 'string' ? config.api_version : 'v21',
    baseUrl: String(config.base_url ?? 'https://googleads.googleapis.com').replace(/\/+$/, ''),
    batchSize: Number(config.batch_size ?? DEFAULT_BATCH),
    // Concurrent addOperations on one job fail with CONCURRENT_MODIFICATION, so one at a time.
    concurrency: Number(config.concurrency ?? 1),
    requestsPerSecond: config.requests_per_second === undefined ? undefined : Number(config.requests_per_second),
    timeoutMs: Number(config.timeout_ms ?? DEFAULT_TIMEOUT_MS),
  };
}

/** Digits, with the dashes of the Google Ads UI's 123-456-7890 form dropped. */
function idText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value !== 'string') return undefined;
  const v = value.trim().replace(/-/g, '');
  return /^\d+$/.test(v) ? v : undefined;
}

function checkNumericId(config: Record<string, unknown>, key: string, problems: ConfigProblems, required: boolean): void {
  const value = config[key];
  if (value === undefined || value === null || value === '') {
    if (required) problems.push([key, `${key} is required`]);
  } else if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    problems.push([key, `${key} is too long to be read exactly as a number; quote it in YAML`]);
  } else if (idText(value) === undefined) problems.push([key, `${key} must be a numeric id (digits, dashes allowed)`]);
}
