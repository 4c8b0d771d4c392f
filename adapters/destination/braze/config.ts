/**
 * The `destinations:` entry of a Braze destination: checks and defaults. Values of secret
 * keys never appear in a message, so a config error can be printed or logged safely.
 */
import { checkThroughput, checkTypos, isHttpUrl, isText, type ConfigProblems } from '../../../src/destination/config-checks.js';

/** Braze's documented maximum attribute objects per /users/track request. */
export const MAX_BATCH = 75;

/** Braze user identifiers a sync may map; the first present identifies the user. */
export const ID_FIELDS = ['external_id', 'email'] as const;

/**
 * Audience membership as a user attribute (Braze has no list API):
 * - boolean: the attribute is set true on add and false on remove;
 * - array: `value` is added to / removed from an array attribute.
 */
export type AudienceAttribute = { kind: 'boolean'; name: string } | { kind: 'array'; name: string; value: string | number };

export interface BrazeSettings {
  apiKey: string;
  restEndpoint: string;
  audience?: AudienceAttribute;
  batchSize: number;
  concurrency: number;
  requestsPerSecond: number;
  timeoutMs?: number;
}

const KNOWN = [
  'type',
  'api_key',
  'rest_endpoint',
  'audience_attribute',
  'batch_size',
  'concurrency',
  'requests_per_second',
  'timeout_ms',
];

function parseAudience(v: unknown): AudienceAttribute | string {
  if (isText(v)) return { kind: 'boolean', name: v };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const { name, value, ...rest } = v as Record<string, unknown>;
    if (!isText(name)) return 'audience_attribute.name must be the name of an array custom attribute';
    if (!(isText(value) || typeof value === 'number')) return 'audience_attribute.value must be the string or number to add to / remove from the array';
    if (Object.keys(rest).length) return `audience_attribute takes only name and value (found ${Object.keys(rest).join(', ')})`;
    return { kind: 'array', name, value };
  }
  return 'audience_attribute must be a boolean attribute name, or {name, value} for an array attribute';
}

export function validateBrazeConfig(config: Record<string, unknown>): ConfigProblems {
  const problems: ConfigProblems = [];
  if (config.api_key === undefined) problems.push(['api_key', 'api_key is required (a REST API key with users.track permission)']);
  else if (!isText(config.api_key)) problems.push(['api_key', 'api_key must be a non-empty string']);
  if (config.rest_endpoint === undefined) problems.push(['rest_endpoint', 'rest_endpoint is required, e.g. https://rest.iad-01.braze.com']);
  else if (!isHttpUrl(config.rest_endpoint)) problems.push(['rest_endpoint', 'rest_endpoint must be an http(s) URL, e.g. https://rest.iad-01.braze.com']);
  if (config.audience_attribute !== undefined) {
    const parsed = parseAudience(config.audience_attribute);
    if (typeof parsed === 'string') problems.push(['audience_attribute', parsed]);
  }
  checkThroughput(config, 'Braze', MAX_BATCH, problems);
  checkTypos(config, KNOWN, problems);
  return problems;
}

export function brazeSettings(config: Record<string, unknown>): BrazeSettings {
  const audience = config.audience_attribute === undefined ? undefined : parseAudience(config.audience_attribute);
  return {
    apiKey: String(config.api_key),
    restEndpoint: String(config.rest_endpoint).replace(/\/+$/, ''),
    audience: typeof audience === 'object' ? audience : undefined,
    batchSize: (config.batch_size as number | undefined) ?? MAX_BATCH,
    concurrency: (config.concurrency as number | undefined) ?? 8,
    // /users/track allows 3,000 requests per 3 s (since 2024-10-28).
    requestsPerSecond: (config.requests_per_second as number | undefined) ?? 1000,
    timeoutMs: config.timeout_ms as number | undefined,
  };
}
