/**
 * The `destinations:` entry of a Klaviyo destination: checks and defaults. Values of secret
 * keys never appear in a message, so a config error can be printed or logged safely.
 */
import { checkThroughput, checkTypos, isHttpUrl, isText, type ConfigProblems } from '../../../src/destination/config-checks.js';

/** Klaviyo's documented maximum profiles per bulk import job. */
export const MAX_BATCH = 10_000;
/** Profiles per removal batch when a list is configured: each removal needs a lookup per 100. */
export const AUDIENCE_BATCH = 1_000;

/** Klaviyo profile identifiers a sync may map; removals look profiles up by the first present. */
export const ID_FIELDS = ['email', 'phone_number', 'external_id'] as const;
export type KlaviyoIdField = (typeof ID_FIELDS)[number];

export interface KlaviyoSettings {
  apiKey: string;
  revision: string;
  listId?: string;
  baseUrl: string;
  batchSize: number;
  concurrency: number;
  requestsPerSecond: number;
  timeoutMs?: number;
}

const KNOWN = [
  'type',
  'api_key',
  'revision',
  'list_id',
  'base_url',
  'batch_size',
  'concurrency',
  'requests_per_second',
  'timeout_ms',
];

export function validateKlaviyoConfig(config: Record<string, unknown>): ConfigProblems {
  const problems: ConfigProblems = [];
  if (config.api_key === undefined) problems.push(['api_key', 'api_key is required (a private API key with profiles:write and lists:write)']);
  else if (!isText(config.api_key)) problems.push(['api_key', 'api_key must be a non-empty string']);
  // YAML reads an unquoted 2024-10-15 as a date, so say how to write it.
  if (config.revision !== undefined && !(typeof config.revision === 'string' && /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(config.revision))) {
    problems.push(['revision', 'revision must be an API revision date in quotes, e.g. "2024-10-15"']);
  }
  if (config.list_id !== undefined && !isText(config.list_id)) problems.push(['list_id', 'list_id must be the id of a Klaviyo list (audience mode needs it)']);
  if (config.base_url !== undefined && !isHttpUrl(config.base_url)) problems.push(['base_url', 'base_url must be an http(s) URL']);
  checkThroughput(config, 'Klaviyo', MAX_BATCH, problems);
  checkTypos(config, KNOWN, problems);
  return problems;
}

export function klaviyoSettings(config: Record<string, unknown>): KlaviyoSettings {
  const listId = config.list_id as string | undefined;
  return {
    apiKey: String(config.api_key),
    revision: (config.revision as string | undefined) ?? '2024-10-15',
    listId,
    baseUrl: String(config.base_url ?? 'https://a.klaviyo.com').replace(/\/+$/, ''),
    batchSize: (config.batch_size as number | undefined) ?? (listId ? AUDIENCE_BATCH : MAX_BATCH),
    concurrency: (config.concurrency as number | undefined) ?? 2,
    // Bulk import and list endpoints allow 10/s in bursts but 150/min sustained.
    requestsPerSecond: (config.requests_per_second as number | undefined) ?? 2.5,
    timeoutMs: config.timeout_ms as number | undefined,
  };
}
