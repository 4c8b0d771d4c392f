/**
 * The `destinations:` entry of a HubSpot destination: checks and defaults. Values of secret
 * keys never appear in a message, so a config error can be printed or logged safely.
 */
import { checkThroughput, checkTypos, isHttpUrl, isText, type ConfigProblems } from '../../../src/destination/config-checks.js';

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

export function validateHubSpotConfig(config: Record<string, unknown>): ConfigProblems {
  const problems: ConfigProblems = [];
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
  checkThroughput(config, 'HubSpot', MAX_BATCH, problems);
  checkTypos(config, KNOWN, problems);
  return problems;
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
