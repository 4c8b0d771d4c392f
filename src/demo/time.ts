/** Every generated timestamp is relative to a fixed "now" so output never depends on the clock. */

export const REFERENCE_DATE = '2026-06-30T00:00:00Z';
/** Seconds since the Unix epoch. */
export const REFERENCE_TS = Date.UTC(2026, 5, 30) / 1000;
/** Earliest moment a generated person can first appear. */
export const HISTORY_START_TS = Date.UTC(2022, 0, 1) / 1000;

export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86400;

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function formatTimestamp(seconds: number): string {
  const iso = new Date(Math.floor(seconds) * 1000).toISOString();
  return iso.slice(0, 10) + ' ' + iso.slice(11, 19);
}

/** `YYYY-MM-DD` in UTC. */
export function formatDate(seconds: number): string {
  return new Date(Math.floor(seconds) * 1000).toISOString().slice(0, 10);
}
