/**
 * Meta connector settings: checked once (validateConfig) and read once (create), so a bad
 * entry fails before any row is sent. Secrets are never quoted back in messages.
 */
import { checkPositiveInt, checkPositiveNumber, checkSecret, checkUrl, type ConfigProblems } from '../../../src/destination/config-checks.js';
import { DEFAULT_TIMEOUT_MS } from '../../../src/destination/http.js';

/** Rows per request, documented by Meta for /{audience_id}/users. */
export const META_MAX_BATCH = 10_000;
/** The reference's 600 requests/min; Meta's throttling is usage-based, so this is a ceiling, not a promise. */
const DEFAULT_REQUESTS_PER_SECOND = 10;

export interface MetaSettings {
  audienceId: string;
  accessToken: string;
  apiVersion: string;
  baseUrl: string;
  batchSize: number;
  concurrency: number;
  requestsPerSecond: number | undefined;
  timeoutMs: number;
}

export function checkMetaConfig(config: Record<string, unknown>): ConfigProblems {
  const problems: ConfigProblems = [];
  checkNumericId(config, 'audience_id', problems);
  checkSecret(config, 'access_token', problems);
  if (config.api_version !== undefined && !(typeof config.api_version === 'string' && /^v\d+\.\d+$/.test(config.api_version))) {
    problems.push(['api_version', 'api_version must look like "v21.0"']);
  }
  checkUrl(config, 'base_url', problems);
  checkPositiveInt(config, 'batch_size', problems, META_MAX_BATCH);
  checkPositiveInt(config, 'concurrency', problems);
  checkPositiveInt(config, 'timeout_ms', problems);
  checkPositiveNumber(config, 'requests_per_second', problems);
  return problems;
}

/** Call after checkMetaConfig returned no problems. */
export function metaSettings(config: Record<string, unknown>): MetaSettings {
  return {
    audienceId: idText(config.audience_id)!,
    accessToken: String(config.access_token),
    apiVersion: typeof config.api_version === 'string' ? config.api_version : 'v21.0',
    baseUrl: String(config.base_url ?? 'https://graph.facebook.com').replace(/\/+$/, ''),
    batchSize: Number(config.batch_size ?? META_MAX_BATCH),
    concurrency: Number(config.concurrency ?? 2),
    requestsPerSecond: config.requests_per_second === undefined ? DEFAULT_REQUESTS_PER_SECOND : Number(config.requests_per_second),
    timeoutMs: Number(config.timeout_ms ?? DEFAULT_TIMEOUT_MS),
  };
}

/** An id as digits; YAML turns unquoted ids into numbers, which is fine while they are exact. */
function idText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return value.trim();
  return undefined;
}

function checkNumericId(config: Record<string, unknown>, key: string, problems: ConfigProblems): void {
  const value = config[key];
  if (value === undefined || value === null || value === '') problems.push([key, `${key} is required`]);
  else if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    problems.push([key, `${key} is too long to be read exactly as a number; quote it in YAML`]);
  } else if (idText(value) === undefined) problems.push([key, `${key} must be a numeric id`]);
}
