/** Every generated timestamp is relative to a fixed "now" so output never depends on the clock. */

export const REFERENCE_DATE = '2026-06-30T00:00:00Z';
/** Seconds since the Unix epoch. */
export const REFERENCE_TS = Date.UTC(2026, 5, 30) / 1000;
/** Earliest moment a generated person can first appear. */
export const HISTORY_START_TS = Date.UTC(2022, 0, 1) / 1000;

export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86400;

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

let cachedDay = Number.NaN;
let cachedDate = '';

/** `YYYY-MM-DD` in UTC. */
export function formatDate(seconds: number): string {
  const day = Math.floor(seconds / DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDate = civilDate(day);
  }
  return cachedDate;
}

/**
 * `YYYY-MM-DD HH:MM:SS` in UTC. Hand-rolled because it runs tens of millions of times for a
 * large demo, and building a Date plus toISOString() per call dominated the run time.
 */
export function formatTimestamp(seconds: number): string {
  const s = Math.floor(seconds);
  const inDay = s - Math.floor(s / DAY) * DAY;
  const h = Math.floor(inDay / HOUR);
  const m = Math.floor((inDay - h * HOUR) / MINUTE);
  return `${formatDate(s)} ${pad2(h)}:${pad2(m)}:${pad2(inDay - h * HOUR - m * MINUTE)}`;
}

/** Days since 1970-01-01 to a proleptic Gregorian date (Hinnant's civil_from_days). */
function civilDate(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(d)}`;
}
