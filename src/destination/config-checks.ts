/**
 * Checks connectors run on their `destinations:` entry. Each pushes [key, message] pairs onto
 * `problems` rather than throwing, so one pass reports every mistake in the entry. Messages
 * name the key, never its value, since many keys hold secrets.
 *
 * Two wordings exist because two sets of connectors grew them and tests pin both: the ad
 * platforms (meta, google_ads) say "positive integer"; the CRMs (hubspot, braze, klaviyo) say
 * "whole number" with the platform's name on limits.
 */
import { closest, distance } from 'fastest-levenshtein';

export type ConfigProblems = [string, string][];
type Config = Record<string, unknown>;

export const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** A URL the CRM connectors accept. */
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

// Ad platforms (meta, google_ads).

export function checkSecret(config: Config, key: string, problems: ConfigProblems): void {
  const value = config[key];
  if (value === undefined || value === null || value === '') problems.push([key, `${key} is required`]);
  else if (typeof value !== 'string' || value.trim() === '') problems.push([key, `${key} must be a non-empty string`]);
}

export function checkUrl(config: Config, key: string, problems: ConfigProblems): void {
  const value = config[key];
  if (value === undefined) return;
  if (typeof value !== 'string' || !/^https?:\/\/[^/\s]+/.test(value)) problems.push([key, `${key} must be an http(s) URL`]);
}

export function checkPositiveInt(config: Config, key: string, problems: ConfigProblems, max?: number): void {
  const value = config[key];
  if (value === undefined) return;
  if (!Number.isInteger(value) || (value as number) < 1) problems.push([key, `${key} must be a positive integer`]);
  else if (max !== undefined && (value as number) > max) problems.push([key, `${key} must be at most ${max} (the platform's limit)`]);
}

export function checkPositiveNumber(config: Config, key: string, problems: ConfigProblems): void {
  const value = config[key];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) problems.push([key, `${key} must be a positive number`]);
}

// CRMs (hubspot, braze, klaviyo).

/** batch_size, concurrency, timeout_ms and requests_per_second; `platform` names whose limit a value broke. */
export function checkThroughput(config: Config, platform: string, maxBatch: number, problems: ConfigProblems): void {
  checkWholeNumber(config, 'batch_size', 1, maxBatch, platform, problems);
  checkWholeNumber(config, 'concurrency', 1, 64, platform, problems);
  checkWholeNumber(config, 'timeout_ms', 1, 600_000, platform, problems);
  const rps = config.requests_per_second;
  if (rps !== undefined && !(typeof rps === 'number' && rps > 0)) {
    problems.push(['requests_per_second', 'requests_per_second must be a positive number']);
  }
}

function checkWholeNumber(config: Config, key: string, min: number, max: number, platform: string, problems: ConfigProblems): void {
  const v = config[key];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) problems.push([key, `${key} must be a whole number`]);
  else if (v < min) problems.push([key, `${key} must be at least ${min}`]);
  else if (v > max) problems.push([key, `${key} must be at most ${max} (the ${platform} limit)`]);
}

/** Keys outside `known` that look like a misspelling of one of them. */
export function checkTypos(config: Config, known: readonly string[], problems: ConfigProblems): void {
  for (const key of Object.keys(config)) {
    if (known.includes(key)) continue;
    // Only likely typos are reported: the engine may add keys of its own to the entry.
    const near = closest(key, known as string[]);
    if (distance(key, near) <= 2) problems.push([key, `unknown key ${key}; did you mean ${near}?`]);
  }
}
