/**
 * Identifier normalisation as SQL expressions. Raw identifiers are PII, so they are
 * normalised where they live: these functions only generate SQL text, built from Dialect
 * methods and SQL that every supported warehouse spells the same way.
 *
 * Two constraints shape the SQL:
 * - Regular expressions must mean the same in RE2 (DuckDB, BigQuery) and PostgreSQL ARE: no
 *   backreferences or lookarounds in patterns, only `\1` in replacements, which both support.
 * - An expression that references a sub-expression twice doubles in size, and nesting
 *   compounds it. The steps are therefore chains of regexp_replace (one reference each) and
 *   only the final validity check references its input twice.
 */
import { CdpError } from '../errors.js';
import type { Dialect } from '../warehouse/types.js';

export type NormalizerName = 'email' | 'phone' | 'trim' | 'lower' | 'upper' | 'none';

export const NORMALIZERS: readonly NormalizerName[] = ['email', 'phone', 'trim', 'lower', 'upper', 'none'];

export interface NormalizeOptions {
  /** Email: drop a `+tag` from the local part. */
  fold_plus?: boolean;
  /** Email: ignore dots in Gmail local parts and treat googlemail.com as gmail.com. */
  fold_gmail_dots?: boolean;
  /** Phone: ISO country of numbers written without an international prefix. Default US. */
  default_country?: string;
}

export interface CountryPlan {
  callingCode: string;
  /** Lengths of the national significant number (without trunk prefix or calling code). */
  nationalLength: number[];
  /** Dialled before national numbers inside the country, never part of the number itself. */
  trunkPrefix?: string;
}

/**
 * National numbering plans. Where a country's plan has variable lengths (DE, IT) the range is
 * kept generous: rejecting a real number loses a link, whereas accepting a malformed one only
 * creates an identifier that matches nothing else.
 */
export const SUPPORTED_COUNTRIES: Record<string, CountryPlan> = {
  US: { callingCode: '1', nationalLength: [10] },
  CA: { callingCode: '1', nationalLength: [10] },
  GB: { callingCode: '44', nationalLength: [9, 10], trunkPrefix: '0' },
  DE: { callingCode: '49', nationalLength: [6, 7, 8, 9, 10, 11, 12, 13], trunkPrefix: '0' },
  FR: { callingCode: '33', nationalLength: [9], trunkPrefix: '0' },
  AU: { callingCode: '61', nationalLength: [9], trunkPrefix: '0' },
  NL: { callingCode: '31', nationalLength: [9], trunkPrefix: '0' },
  ES: { callingCode: '34', nationalLength: [9] },
  // Italian numbers keep their leading 0 in international form: it is not a trunk prefix.
  IT: { callingCode: '39', nationalLength: [6, 7, 8, 9, 10, 11] },
  IN: { callingCode: '91', nationalLength: [10], trunkPrefix: '0' },
  BR: { callingCode: '55', nationalLength: [10, 11], trunkPrefix: '0' },
  MX: { callingCode: '52', nationalLength: [10] },
};

const DEFAULT_COUNTRY = 'US';
const NANP_CODE = '1';
/** NANP: area code and exchange both start with 2-9. */
const NANP_NUMBER = '[2-9][0-9]{2}[2-9][0-9]{6}';

/**
 * What counts as surrounding whitespace: ASCII whitespace plus the invisible characters that
 * copy-paste and spreadsheets leave behind (no-break space, zero-width space, byte-order mark).
 * Written out rather than `\s`, whose meaning differs between RE2 and PostgreSQL.
 */
const INVISIBLE = '\u00a0\u200b\ufeff';
const SPACE_CLASS = `[ \\t\\n\\r\\f\\v${INVISIBLE}]`;
const EMAIL_VALID = `^[^@ \\t\\n\\r\\f\\v${INVISIBLE}]+@[^@ \\t\\n\\r\\f\\v${INVISIBLE}]+\\.[^@ \\t\\n\\r\\f\\v${INVISIBLE}]+$`;

/**
 * SQL that is true when the raw input is empty (NULL or blank after trim): such values are
 * dropped and counted, not rejected. With `castToText`, `expr` is cast to text first.
 * An anchored regular expression over the same character class the normalisers strip: on
 * DuckDB it costs a quarter of translate(), and it runs on every raw identifier value.
 */
export function isEmptySql(expr: string, dialect: Dialect, castToText = false): string {
  const text = castToText ? dialect.cast(expr, 'text') : expr;
  return `(${expr} IS NULL OR ${dialect.regexpMatches(text, dialect.quoteString(`^${SPACE_CLASS}*$`))})`;
}

export function normalizeSql(name: NormalizerName, expr: string, opts: NormalizeOptions, dialect: Dialect): string {
  const text = dialect.cast(expr, 'text');
  switch (name) {
    case 'email':
      return emailSql(text, opts, dialect);
    case 'phone':
      return phoneSql(text, countryOf(opts), dialect);
    case 'trim':
      return `NULLIF(${stripSql(text, dialect)}, '')`;
    case 'lower':
      return `NULLIF(lower(${stripSql(text, dialect)}), '')`;
    case 'upper':
      return `NULLIF(upper(${stripSql(text, dialect)}), '')`;
    case 'none':
      return `CASE WHEN ${isEmptySql(text, dialect)} THEN NULL ELSE ${text} END`;
    default:
      throw new CdpError(`unknown normaliser "${name as string}"`, { hint: `available: ${NORMALIZERS.join(', ')}` });
  }
}

/** Problems with a normaliser's options, as messages. Keys the normalisers do not own are ignored. */
export function validateNormalizeOptions(name: string, opts: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!(NORMALIZERS as readonly string[]).includes(name)) {
    problems.push(`unknown normaliser "${name}" (available: ${NORMALIZERS.join(', ')})`);
    return problems;
  }
  const given = (key: string) => opts[key] !== undefined && opts[key] !== null;
  for (const key of ['fold_plus', 'fold_gmail_dots']) {
    if (!given(key)) continue;
    if (name !== 'email') problems.push(`${key} only applies to the email normaliser, not ${name}`);
    else if (typeof opts[key] !== 'boolean') problems.push(`${key} must be true or false, got ${JSON.stringify(opts[key])}`);
  }
  if (given('default_country')) {
    const country = opts.default_country;
    if (name !== 'phone') problems.push(`default_country only applies to the phone normaliser, not ${name}`);
    else if (typeof country !== 'string' || !SUPPORTED_COUNTRIES[country.toUpperCase()]) {
      problems.push(`unknown default_country ${JSON.stringify(country)} (supported: ${Object.keys(SUPPORTED_COUNTRIES).sort().join(', ')})`);
    }
  }
  return problems;
}

function countryOf(opts: NormalizeOptions): CountryPlan {
  const code = (opts.default_country ?? DEFAULT_COUNTRY).toUpperCase();
  const plan = SUPPORTED_COUNTRIES[code];
  if (!plan) {
    throw new CdpError(`unknown default_country "${opts.default_country}"`, { hint: `supported: ${Object.keys(SUPPORTED_COUNTRIES).sort().join(', ')}` });
  }
  return plan;
}

/** Chains regexp_replace steps; each step references the previous expression once. */
function replaceAll(expr: string, steps: [pattern: string, replacement: string][], d: Dialect): string {
  return steps.reduce((acc, [pattern, replacement]) => d.regexpReplace(acc, d.quoteString(pattern), d.quoteString(replacement)), expr);
}

function stripSql(text: string, d: Dialect): string {
  return replaceAll(text, [[`^${SPACE_CLASS}+|${SPACE_CLASS}+$`, '']], d);
}

/** `value` when it matches `pattern`, else NULL. */
function keepIfMatches(value: string, pattern: string, d: Dialect): string {
  return `CASE WHEN ${d.regexpMatches(value, d.quoteString(pattern))} THEN ${value} END`;
}

function emailSql(text: string, opts: NormalizeOptions, d: Dialect): string {
  let email = `lower(${stripSql(text, d)})`;
  // Folding runs before validation, so an address that folds to nothing ("+x@y.com") is invalid.
  if (opts.fold_plus) email = replaceAll(email, [['\\+[^@]*@', '@']], d);
  if (opts.fold_gmail_dots) {
    const gmail = d.regexpMatches(email, d.quoteString('@(gmail|googlemail)\\.com$'));
    const local = replaceAll(email, [['@.*$', '']], d);
    email = `CASE WHEN ${gmail} THEN replace(${local}, '.', '') || '@gmail.com' ELSE ${email} END`;
  }
  return keepIfMatches(email, EMAIL_VALID, d);
}

/** Regex for the national significant number of a plan (digits only, no prefixes). */
function nationalPattern(plan: CountryPlan): string {
  if (plan.callingCode === NANP_CODE) return NANP_NUMBER;
  // With a trunk prefix, no national number starts with it, which keeps the two apart.
  const first = plan.trunkPrefix === '0' ? '[1-9]' : '[0-9]';
  const ranges = lengthRanges(plan.nationalLength).map(([min, max]) => `${first}[0-9]{${min - 1}${max > min ? `,${max - 1}` : ''}}`);
  return ranges.length === 1 ? ranges[0] : `(${ranges.join('|')})`;
}

function lengthRanges(lengths: number[]): [number, number][] {
  const sorted = [...new Set(lengths)].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const n of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === n - 1) last[1] = n;
    else ranges.push([n, n]);
  }
  return ranges;
}

/** One plan per calling code (US and CA share NANP). */
function plansByCallingCode(): Map<string, CountryPlan> {
  const plans = new Map<string, CountryPlan>();
  for (const plan of Object.values(SUPPORTED_COUNTRIES)) if (!plans.has(plan.callingCode)) plans.set(plan.callingCode, plan);
  return plans;
}

/**
 * Calling-code prefixes of the countries NOT in `codes`, as regex fragments, each with the
 * number of digits it consumes. Calling codes are prefix-free, so a digit string belongs to
 * an unsupported country exactly when it starts with one of these.
 */
function otherCallingCodes(codes: string[]): { fragment: string; length: number }[] {
  const out: { fragment: string; length: number }[] = [];
  const walk = (prefix: string) => {
    const free: string[] = [];
    for (const digit of prefix === '' ? '123456789' : '0123456789') {
      const next = prefix + digit;
      if (codes.includes(next)) continue;
      if (codes.some((c) => c.startsWith(next))) walk(next);
      else free.push(digit);
    }
    if (free.length) out.push({ fragment: `${prefix}${free.length === 1 ? free[0] : `[${free.join('')}]`}`, length: prefix.length + 1 });
  };
  walk('');
  return out;
}

/**
 * A valid E.164 number: for supported countries, the national number fits their plan; for
 * any other country, 7 to 15 digits (the E.164 bounds) with a non-zero first digit.
 */
function e164Pattern(): string {
  const plans = plansByCallingCode();
  const known = [...plans].map(([code, plan]) => code + nationalPattern(plan));
  const others = otherCallingCodes([...plans.keys()]).map(({ fragment, length }) => `${fragment}[0-9]{${7 - length},${15 - length}}`);
  return `^\\+(${[...known, ...others].join('|')})$`;
}

/**
 * Phone numbers to E.164. Each step is a whole-string rewrite, so the number only ever moves
 * towards `+<digits>`; whatever does not reach a valid `+<digits>` form is NULL.
 */
function phoneSql(text: string, plan: CountryPlan, d: Dialect): string {
  const cc = plan.callingCode;
  const trunk = plan.trunkPrefix ? `(${plan.trunkPrefix})?` : '';
  const trunkCodes = [...plansByCallingCode()].filter(([, p]) => p.trunkPrefix).map(([code]) => code);
  const steps: [string, string][] = [
    [`^${SPACE_CLASS}+|${SPACE_CLASS}+$`, ''],
    // An extension is not part of the number.
    [`${SPACE_CLASS}*(ext|extension|x|#)[.:]?${SPACE_CLASS}*[0-9]{1,6}$`, ''],
    // Numbers that went through a float column or a spreadsheet come back as `4155550142.0`.
    ['^(\\+?[0-9]+)\\.0+$', '\\1'],
    // A '+' before the first digit marks international form ("(+44)", "tel:+1").
    ['^[^0-9]*\\+', '+'],
    ['[^0-9+]', ''],
    ['([0-9])\\++', '\\1'],
    // International dialling prefixes: 00 nearly everywhere, 011 from NANP countries.
    ['^\\+?00', '+'],
    ...(cc === NANP_CODE ? [['^011', '+'] as [string, string]] : []),
    // A national number of the default country (optionally with its trunk prefix)...
    [`^${trunk}(${nationalPattern(plan)})$`, `+${cc}\\${plan.trunkPrefix ? 2 : 1}`],
    // ...or one written with its calling code but no '+' ("1-415-...", "44 20 ...").
    [`^${cc}`, `+${cc}`],
    // A trunk prefix kept after the calling code ("+44 (0)20 ...") is dialled, not numbered.
    ...(trunkCodes.length ? [[`^\\+(${trunkCodes.join('|')})0`, '+\\1'] as [string, string]] : []),
  ];
  return keepIfMatches(replaceAll(`lower(${text})`, steps, d), e164Pattern(), d);
}
