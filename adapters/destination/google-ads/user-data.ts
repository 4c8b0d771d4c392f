/**
 * Rows to Customer Match UserData, and Google's failure details back to operation indexes.
 * Email, phone and names are normalised and hashed here, before a request body exists.
 */
import { googleHash } from '../../../src/destination/hashing.js';

export type UserIdentifier =
  | { hashedEmail: string }
  | { hashedPhoneNumber: string }
  | { addressInfo: { hashedFirstName: string; hashedLastName: string; countryCode?: string; postalCode?: string } };

/** Google allows at most 20 identifiers in one UserData; a row yields at most 3. */
export const MAX_IDENTIFIERS_PER_USER = 20;
/** Identifiers per addOperations request. */
export const MAX_IDENTIFIERS_PER_REQUEST = 100_000;

export const NO_IDENTIFIER = 'no usable identifier (email, phone or first_name + last_name did not normalise)';

/** The row's identifiers; empty when none normalises. */
export function userIdentifiers(fields: Record<string, unknown>): UserIdentifier[] {
  const ids: UserIdentifier[] = [];
  const email = googleHash.email(fields.email);
  if (email) ids.push({ hashedEmail: email });
  const phone = googleHash.phone(fields.phone);
  if (phone) ids.push({ hashedPhoneNumber: phone });
  const first = googleHash.name(fields.first_name);
  const last = googleHash.name(fields.last_name);
  // Google matches names only as a pair (with country and postal code, which are not PII on their own).
  if (first && last) {
    const country = plain(fields.country_code)?.toUpperCase();
    const postal = plain(fields.postal_code);
    ids.push({
      addressInfo: {
        hashedFirstName: first,
        hashedLastName: last,
        ...(country && /^[A-Z]{2}$/.test(country) ? { countryCode: country } : {}),
        ...(postal ? { postalCode: postal } : {}),
      },
    });
  }
  return ids.slice(0, MAX_IDENTIFIERS_PER_USER);
}

function plain(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const v = String(value).trim();
  return v === '' ? undefined : v;
}

export interface GoogleAdsError {
  /** e.g. `offlineUserDataJobError: INVALID_SHA256_FORMAT`. */
  code: string;
  /** The error family, e.g. `authenticationError`. */
  family: string;
  message: string;
  /** Index into the request's operations, when the error belongs to one. */
  operation?: number;
}

interface RawFailure {
  errors?: {
    errorCode?: Record<string, string>;
    message?: string;
    location?: { fieldPathElements?: { fieldName?: string; index?: number }[] };
  }[];
}

/** Errors inside a google.rpc.Status (a partialFailureError, or the `error` of a failed call). */
export function googleAdsErrors(status: unknown): GoogleAdsError[] {
  const details = (status as { details?: RawFailure[] } | undefined)?.details;
  if (!Array.isArray(details)) return [];
  return details.flatMap((d) =>
    (d?.errors ?? []).map((e): GoogleAdsError => {
      const [family, value] = Object.entries(e.errorCode ?? {})[0] ?? ['unknownError', 'UNKNOWN'];
      const op = e.location?.fieldPathElements?.find((p) => p.fieldName === 'operations');
      return { family, code: `${family}: ${value}`, message: e.message ?? '', operation: typeof op?.index === 'number' ? op.index : undefined };
    }),
  );
}

/** Operation index -> rejection reason. */
export function reasonsByOperation(errors: GoogleAdsError[]): Map<number, string> {
  const reasons = new Map<number, string>();
  for (const e of errors) {
    if (e.operation === undefined) continue;
    const text = `Google Ads ${e.code}${e.message ? ` (${e.message})` : ''}`;
    const before = reasons.get(e.operation);
    reasons.set(e.operation, before ? `${before}; ${text}` : text);
  }
  return reasons;
}
