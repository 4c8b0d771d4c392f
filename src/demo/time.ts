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

/**
 * Formatting uses tables built once: it runs tens of millions of times for a large demo, and a
 * Date plus toISOString() per call dominated the run time. Lazily filled sparse arrays were no
 * better, since V8 turns them into dictionaries.
 */
const CLOCK: readonly string[] = Array.from({ length: DAY }, (_, s) => {
  const h = Math.floor(s / HOUR);
  const m = Math.floor((s - h * HOUR) / MINUTE);
  return ` ${pad2(h)}:${pad2(m)}:${pad2(s - h * HOUR - m * MINUTE)}`;
});
/** Covers every day a generated timestamp can fall on; other days are formatted on demand. */
const FIRST_TABLE_DAY = Math.floor(HISTORY_START_TS / DAY) - 4 * 366;
const DATES: readonly string[] = Array.from({ length: Math.floor(REFERENCE_TS / DAY) - FIRST_TABLE_DAY + 1 }, (_, i) =>
  civilDate(FIRST_TABLE_DAY + i),
);

function dayText(day: number): string {
  const i = day - FIRST_TABLE_DAY;
  return i >= 0 && i < DATES.length ? DATES[i] : civilDate(day);
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function formatTimestamp(seconds: number): string {
  const s = Math.floor(seconds);
  const day = Math.floor(s / DAY);
  return dayText(day) + CLOCK[s - day * DAY];
}

/** The same tables as bytes, for writers that encode rows straight into a Buffer. */
const DATE_BYTES = Buffer.from(DATES.join(''), 'latin1');
const CLOCK_BYTES = Buffer.from(CLOCK.join(''), 'latin1');
/** Upper bound of the bytes writeTimestamp produces. */
export const TIMESTAMP_BYTES = 19;

/** Writes formatTimestamp(seconds) into `target` at `at`; returns the position after it. */
export function writeTimestamp(target: Buffer, at: number, seconds: number): number {
  const s = Math.floor(seconds);
  const day = Math.floor(s / DAY);
  const i = day - FIRST_TABLE_DAY;
  if (i < 0 || i >= DATES.length) return at + target.write(formatTimestamp(s), at, 'latin1');
  let from = i * 10;
  for (let k = 0; k < 10; k++) target[at++] = DATE_BYTES[from++];
  from = (s - day * DAY) * 9;
  for (let k = 0; k < 9; k++) target[at++] = CLOCK_BYTES[from++];
  return at;
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
