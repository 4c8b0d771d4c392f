/**
 * The `destinations:` entry of a HubSpot destination: checks and defaults. Values of secret
 * keys never appear in a message, so a config error can be printed or logged safely.
 */
import { closest, distance } from 'fastest-levenshtein';

/** HubSpot's documented maximum inputs per CRM batch call. */
export const MAX_BATCH = 100;

export interface HubSpotSettings {
  accessToken: string;
  objectType: string;
  idProperty: string;
  listId?: string;
  baseUrl: string;
  batchSize: number;
  concurrency: number;
  requestsPerSecond: number;
  timeoutMs?: number;
}

const KNOWN = [
  'type',
  'access_token',
  'object_type',
  'id_property',
  'list_id',
  'base_url',
  'batch_size',
  'concurrency',
  'requests_per_second',
  'timeout_ms',
];

const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

function checkInt(config: Record<string, unknown>, key: string, min: number, max: number, problems: [string, string][]): void {
  const v = config[key];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) problems.push([key, `${key} must be a whole number`]);
  else if (v < min) problems.push([key, `${key} must be at least ${min}`]);
  else if (v > max) problems.push([key, `${key} must be at most ${max} (the HubSpot limit)`]);
}

export function validateHubSpotConfig(config: Record<string, unknown>): [string, string][] {
  const problems: [string, string][] = [];
  if (config.access_token === undefined) problems.push(['access_token', 'access_token is required (a private app token)']);
  else if (!isText(config.access_token)) problems.push(['access_token', 'access_token must be a non-empty string']);
  for (const key of ['object_type', 'id_property']) {
    if (config[key] !== undefined && !isText(config[key])) problems.push([key, `${key} must be a non-empty string`]);
  }
  const list = config.list_id;
  if (list !== undefined && !isText(list) && !(typeof list === 'number' && Number.isInteger(list) && list > 0)) {
    problems.push(['list_id', 'list_id must be the id of a MANUAL or SNAPSHOT list (audience mode needs it)']);
  }
  if (config.base_url !== undefined && !isHttpUrl(config.base_url)) problems.push(['base_url', 'base_url must be an http(s) URL']);
  checkInt(config, 'batch_size', 1, MAX_BATCH, problems);
  checkInt(config, 'concurrency', 1, 64, problems);
  checkInt(config, 'timeout_ms', 1, 600_000, problems);
  const rps = config.requests_per_second;
  if (rps !== undefined && !(typeof rps === 'number' && rps > 0)) {
    problems.push(['requests_per_second', 'requests_per_second must be a positive number']);
  }
  for (const key of Object.keys(config)) {
    if (KNOWN.includes(key)) continue;
    // Only likely typos are reported: the engine may add keys of its own to the entry.
    const near = closest(key, KNOWN);
    if (distance(key, near) <= 2) problems.push([key, `unknown key ${key}; did you mean ${near}?`]);
  }
  return problems;
}

export function isHttpUrl(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  // A ${env:VAR} reference is checked once resolved, when the request is made.
  if (v.includes('${env:')) return true;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export function hubSpotSettings(config: Record<string, unknown>): HubSpotSettings {
  const list = config.list_id;
  return {
    accessToken: String(config.access_token),
    objectType: (config.object_type as string | undefined) ?? 'contacts',
    idProperty: (config.id_property as string | undefined) ?? 'email',
    listId: list === undefined ? undefined : String(list),
    baseUrl: String(config.base_url ?? 'https://api.hubapi.com').replace(/\/+$/, ''),
    batchSize: (config.batch_size as number | undefined) ?? MAX_BATCH,
    concurrency: (config.concurrency as number | undefined) ?? 4,
    // Private apps on the lowest tier get 100 requests per 10 s.
    requestsPerSecond: (config.requests_per_second as number | undefined) ?? 10,
    timeoutMs: config.timeout_ms as number | undefined,
  };
}
