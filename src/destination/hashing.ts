/**
 * Normalise-then-hash for ad platforms. Each platform documents its own form (Google keeps
 * the `+` of E.164, Meta drops it), so each rule is its own function with test vectors.
 */
import { createHash } from 'node:crypto';

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export function normaliseEmail(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const v = String(value).replace(/\s+/g, '').toLowerCase();
  return /^[^@]+@[^@]+\.[^@]+$/.test(v) ? v : undefined;
}

/**
 * E.164 with `+`. Values from the identity graph are already E.164; raw values are cleaned:
 * `00` becomes `+`, and ten-digit numbers get `defaultCallingCode` (1 for NANP).
 */
export function normalisePhoneE164(value: unknown, defaultCallingCode = '1'): string | undefined {
  if (value === null || value === undefined) return undefined;
  let v = String(value).trim();
  const plus = v.startsWith('+') || v.startsWith('00');
  v = v.replace(/^00/, '').replace(/[^0-9]/g, '');
  if (!plus) {
    if (defaultCallingCode === '1' && v.length === 11 && v.startsWith('1')) v = v.slice(1);
    if (v.length === 10) v = defaultCallingCode + v.replace(/^0/, '');
  }
  return /^[1-9][0-9]{6,14}$/.test(v) ? `+${v}` : undefined;
}

export function normaliseName(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const v = String(value).trim().toLowerCase();
  return v === '' ? undefined : v;
}

/** Google Customer Match: SHA-256 of the normalised email / E.164 phone (with `+`) / name. */
export const googleHash = {
  email: (v: unknown) => map(normaliseEmail(v), sha256Hex),
  phone: (v: unknown) => map(normalisePhoneE164(v), sha256Hex),
  name: (v: unknown) => map(normaliseName(v), sha256Hex),
};

/** Meta Custom Audiences: phone as digits with country code and no `+`. */
export const metaHash = {
  email: (v: unknown) => map(normaliseEmail(v), sha256Hex),
  phone: (v: unknown) => map(normalisePhoneE164(v)?.slice(1), sha256Hex),
  name: (v: unknown) => map(normaliseName(v)?.replace(/[^\p{L}]/gu, ''), sha256Hex),
};

function map<T>(v: T | undefined, fn: (x: T) => string): string | undefined {
  return v === undefined ? undefined : fn(v);
}
