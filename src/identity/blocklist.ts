/**
 * Blocklists: placeholder values that would otherwise glue unrelated people into one profile
 * ("test@test.com", "0000000000"). Matched in SQL against the normalised value.
 */
import { CdpError } from '../errors.js';
import type { Dialect } from '../warehouse/types.js';
import { normalizeSql, type NormalizeOptions, type NormalizerName } from './normalize.js';

export interface BlockRule {
  kind: 'literal' | 'regex';
  value: string;
}

const lit = (value: string): BlockRule => ({ kind: 'literal', value });
const re = (value: string): BlockRule => ({ kind: 'regex', value });

/** `^\+1?(0{10}|1{10}|...|9{10})$`: RE2 has no backreferences, so each digit is spelled out. */
const REPEATED_DIGIT_PHONE = `^\\+1?(${[...'0123456789'].map((d) => `${d}{10}`).join('|')})$`;

/**
 * Built-in blocklist, compared case-insensitively with the normalised value. Every entry is a
 * placeholder that no real person owns, so they are safe to apply to every project:
 * - any type: values made only of zeros and dashes ("0", "000-000", "-"), and the words forms
 *   and front-end code write for "no value" (null, none, nil, unknown, undefined, anonymous,
 *   n/a, na, test, -1, 0, nan).
 * - email: well-known dummy addresses, mailboxes that nobody reads by design (noreply@,
 *   donotreply@, ...) or that stand for "no email" (unknown@, none@, noemail@, ...), and the
 *   domains reserved for examples and testing by RFC 2606 (example.com/.net/.org, and the
 *   .test, .example, .invalid and .localhost top-level domains), which cannot receive mail.
 * - phone: all zeros, numbers ending in seven zeros, and one digit repeated ten times (with or
 *   without the NANP country code) — keypad filler, not subscribers.
 */
export const DEFAULT_BLOCKLIST: { all: BlockRule[]; byType: Record<string, BlockRule[]> } = {
  all: [
    re('^[0-]*$'),
    ...['null', 'none', 'nil', 'unknown', 'undefined', 'anonymous', 'n/a', 'na', 'test', '-1', '0', 'nan'].map(lit),
  ],
  byType: {
    email: [
      ...['test@test.com', 'test@example.com', 'a@a.com', 'email@email.com'].map(lit),
      re('^(no-?reply|do-?not-?reply|unknown|none|null|test|noemail|no-email)@'),
      re('@example\\.(com|net|org)$'),
      re('\\.(test|example|invalid|localhost)$'),
    ],
    phone: [re('^\\+1?0+$'), re('^\\+[0-9]*0{7}$'), re(REPEATED_DIGIT_PHONE)],
  },
};

/** `/pattern/` is a regular expression; anything else is a literal value. */
export function parseBlockEntry(entry: string): BlockRule {
  if (entry.length >= 2 && entry.startsWith('/') && entry.endsWith('/')) return re(entry.slice(1, -1));
  return lit(entry);
}

/** Escapes that mean the same in RE2 and PostgreSQL ARE, outside and inside brackets. */
const PORTABLE_ESCAPES = new Set(['d', 'D', 's', 'S', 'w', 'W', 't', 'n', 'r', 'f', 'v', 'A']);
const PORTABLE_IN_BRACKETS = new Set(['d', 's', 'w', 't', 'n', 'r', 'f', 'v']);
/** PostgreSQL's limit on a bounded repetition count (RE2's is 1000). */
const MAX_REPEAT = 255;

/**
 * Why `pattern` cannot be used as a blocklist regex, or undefined when it can. It must mean
 * the same in RE2 (DuckDB, BigQuery) and PostgreSQL ARE, so features only one of them has —
 * or that they spell differently — are refused with a suggestion.
 */
export function validateRegex(pattern: string): string | undefined {
  const show = `/${pattern}/`;
  if (pattern === '') return `regex ${show} is empty and would block every value`;
  let inBrackets = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const next = pattern[i + 1] ?? '';
    if (c === '\\') {
      if (next === '') return `regex ${show} ends with a lone backslash`;
      if (/[0-9]/.test(next)) return `regex ${show} uses a backreference (\\${next}): RE2, used by DuckDB and BigQuery, has none; spell out the alternatives instead`;
      if (next === 'k') return `regex ${show} uses a named backreference (\\k): RE2, used by DuckDB and BigQuery, has none`;
      if (next === 'b' || next === 'B') return `regex ${show} uses a word boundary (\\${next}), which PostgreSQL reads differently; use ^ and $ or explicit character classes`;
      if (/[a-zA-Z]/.test(next)) {
        const allowed = inBrackets ? PORTABLE_IN_BRACKETS : PORTABLE_ESCAPES;
        if (!allowed.has(next)) {
          const where = inBrackets ? ' inside brackets' : '';
          return `regex ${show} uses the escape \\${next}${where}, which RE2 and PostgreSQL do not read the same way; write the characters themselves (portable escapes: ${[...allowed].map((e) => `\\${e}`).join(' ')})`;
        }
      }
      i++;
      continue;
    }
    if (inBrackets) {
      if (c === '[' && (next === '.' || next === '=')) return `regex ${show} uses a collating element ([${next}...${next}]), which RE2 does not support`;
      if (c === '[' && next === ':') {
        const end = pattern.indexOf(':]', i + 2);
        if (end > 0) i = end + 1;
        continue;
      }
      if (c === ']') inBrackets = false;
      continue;
    }
    if (c === '[') {
      inBrackets = true;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && next === '?') {
      const after = pattern.slice(i + 2, i + 4);
      if (after.startsWith(':')) continue;
      if (after.startsWith('=') || after.startsWith('!') || after === '<=' || after === '<!') {
        return `regex ${show} uses a lookaround ((?=, (?!, (?<=, (?<!): RE2, used by DuckDB and BigQuery, has none`;
      }
      return `regex ${show} uses a (?...) group other than (?:...), which RE2 and PostgreSQL do not read the same way; values are already normalised, so flags such as (?i) are rarely needed`;
    }
    if ('*+?}'.includes(c) && next === '+') return `regex ${show} uses a possessive quantifier (${c}+), which RE2 does not support`;
    if (c === '{') {
      const bound = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i));
      if (bound && Math.max(Number(bound[1]), Number(bound[2] || 0)) > MAX_REPEAT) {
        return `regex ${show} repeats more than ${MAX_REPEAT} times, PostgreSQL's limit`;
      }
    }
  }
  if (inBrackets) return `regex ${show} has an unclosed [`;
  try {
    new RegExp(pattern);
  } catch (err) {
    return `regex ${show} is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  return undefined;
}

/**
 * SQL boolean: true when the NORMALISED value `valueExpr` is blocklisted, false otherwise
 * (never NULL). Type-specific defaults are chosen by normaliser and by type name, so both
 * `work_email: {normalize: email}` and `email: {normalize: lower}` get the email defaults.
 * User literals go through the type's normaliser (with `opts`, e.g. its default_country) so
 * they can be written the way they appear in the data; user regexes see the normalised value.
 */
export function blockedSql(
  valueExpr: string,
  idType: string,
  normalizer: NormalizerName,
  rules: BlockRule[],
  dialect: Dialect,
  useDefaults: boolean,
  opts: NormalizeOptions = {},
): string {
  const d = dialect;
  const tests: string[] = [];
  if (useDefaults) {
    const defaults = [...DEFAULT_BLOCKLIST.all, ...(DEFAULT_BLOCKLIST.byType[normalizer] ?? [])];
    if (idType !== normalizer) defaults.push(...(DEFAULT_BLOCKLIST.byType[idType] ?? []));
    const lowered = `lower(${valueExpr})`;
    const literals = [...new Set(defaults.filter((r) => r.kind === 'literal').map((r) => r.value.toLowerCase()))];
    if (literals.length) tests.push(`${lowered} IN (${literals.map((v) => d.quoteString(v)).join(', ')})`);
    for (const pattern of new Set(defaults.filter((r) => r.kind === 'regex').map((r) => r.value))) {
      tests.push(d.regexpMatches(lowered, d.quoteString(pattern)));
    }
  }
  const literals = [...new Set(rules.filter((r) => r.kind === 'literal').map((r) => r.value))];
  if (literals.length) {
    // The normaliser is written once, over a derived table of the literals, not once per literal.
    const column = `${d.quoteIdent('cdp_blocklist')}.${d.quoteIdent('entry')}`;
    const rows = literals.map((v) => `SELECT ${d.quoteString(v)} AS ${d.quoteIdent('entry')}`).join(' UNION ALL ');
    tests.push(`${valueExpr} IN (SELECT ${normalizeSql(normalizer, column, opts, d)} FROM (${rows}) AS ${d.quoteIdent('cdp_blocklist')})`);
  }
  for (const rule of rules) {
    if (rule.kind !== 'regex') continue;
    const problem = validateRegex(rule.value);
    if (problem) throw new CdpError(`blocklist for ${idType}: ${problem}`);
    tests.push(d.regexpMatches(valueExpr, d.quoteString(rule.value)));
  }
  if (tests.length === 0) return 'FALSE';
  return `COALESCE(${tests.map((t) => `(${t})`).join(' OR ')}, FALSE)`;
}
