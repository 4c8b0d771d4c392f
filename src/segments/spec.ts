/**
 * Rule segments: `models/**\/<name>.segment.yml`. A condition tree over the columns of one
 * model with a row per profile (usually a golden record), plus includes and excludes of other
 * segments. Parsed and checked here, before anything connects, so that a bad spec names its
 * file, line and key; `rules.ts` turns a parsed spec into SQL.
 */
import path from 'node:path';
import { CdpError, CdpErrors, type SourceLocation } from '../errors.js';
import { didYouMean, loadYaml, s } from '../project/schema.js';
import type { TimeUnit } from '../warehouse/types.js';

export type KeyPath = (string | number)[];

export const COMPARISON_OPS = ['=', '!=', '>', '>=', '<', '<='] as const;
export const SEGMENT_OPS = [...COMPARISON_OPS, 'in', 'not_in', 'is_null', 'not_null', 'contains', 'starts_with', 'within_last', 'older_than', 'between'] as const;
export type SegmentOp = (typeof SEGMENT_OPS)[number];

export type Scalar = string | number | boolean;

export interface Duration {
  amount: number;
  unit: TimeUnit;
}

interface LeafBase {
  kind: 'leaf';
  column: string;
  path: KeyPath;
}

export type LeafCondition = LeafBase &
  (
    | { op: (typeof COMPARISON_OPS)[number]; value: Scalar }
    | { op: 'in' | 'not_in'; value: Scalar[] }
    | { op: 'is_null' | 'not_null' }
    | { op: 'contains' | 'starts_with'; value: string }
    | { op: 'within_last' | 'older_than'; value: Duration }
    | { op: 'between'; value: [Scalar, Scalar] }
  );

export type Condition =
  | { kind: 'all' | 'any'; items: Condition[]; path: KeyPath }
  | { kind: 'not'; item: Condition; path: KeyPath }
  | LeafCondition;

/** The reference time of relative windows, as written; resolved against vars at compile time. */
export type AsOfSpec = { kind: 'now' } | { kind: 'literal'; value: string } | { kind: 'var'; name: string };

export interface RuleSegmentSpec {
  name: string;
  file: string;
  description?: string;
  from: string;
  asOf: AsOfSpec;
  where?: Condition;
  include: string[];
  exclude: string[];
  /** Columns carried for syncs besides profile_id; undefined means every column of `from`. */
  fields?: string[];
  tags: string[];
  /** Where a key path sits in the file (parses with positions only when called). */
  locate(path: KeyPath): SourceLocation;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const identifier = s.str({ pattern: IDENTIFIER, patternHint: 'use letters, digits and underscores, starting with a letter' });
const nameList = s.arr(s.str());

const specSchema = s.obj({
  name: identifier,
  description: s.str(),
  from: s.str(),
  as_of: s.str(),
  where: s.any(),
  include: nameList,
  exclude: nameList,
  fields: nameList,
  tags: nameList,
}, ['from']);

interface RawSpec {
  name?: string;
  description?: string;
  from: string;
  as_of?: string;
  where?: unknown;
  include?: string[];
  exclude?: string[];
  fields?: string[];
  tags?: string[];
}

const GROUP_KEYS = ['all', 'any', 'not'] as const;
const LEAF_KEYS = ['column', 'op', 'value'];
const UNITS: readonly TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];
const DURATION = /^\s*(\d+)\s*(minute|hour|day|week|month|year)s?\s*$/i;
/** A zone-less timestamp (UTC wall time), as `typeName('timestamp')` stores it. */
export const TIMESTAMP_LITERAL = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?Z?$/;
const VAR_REF = [/^var:([A-Za-z_][A-Za-z0-9_]*)$/, /^\{\{\s*var\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s*\}\}$/];

/** Spellings people bring from other tools; only ever suggested, never accepted. */
const OP_ALIASES: Record<string, SegmentOp> = {
  '==': '=', eq: '=', equals: '=', '<>': '!=', ne: '!=', neq: '!=', not_equals: '!=',
  gt: '>', gte: '>=', ge: '>=', lt: '<', lte: '<=', le: '<=',
  'not in': 'not_in', nin: 'not_in', 'is null': 'is_null', is_not_null: 'not_null', 'is not null': 'not_null', exists: 'not_null',
  like: 'contains', includes: 'contains', startswith: 'starts_with', begins_with: 'starts_with',
  in_last: 'within_last', last: 'within_last', before: 'older_than', not_within_last: 'older_than',
};

/** The segment name a file gets when it has no `name:` (`vip.segment.yml` -> `vip`). */
export function segmentNameOf(file: string): string {
  return path.basename(file).replace(/\.segment\.ya?ml$/, '');
}

export function parseSegmentSpec(text: string, file: string): RuleSegmentSpec {
  const { value: raw, validator } = loadYaml<RawSpec>(text, file, specSchema);
  if (validator.errors.length) throw validator.errors.length === 1 ? validator.errors[0] : new CdpErrors(validator.errors);
  const problems: CdpError[] = [];
  const fail = (at: KeyPath, message: string, hint?: string) => problems.push(new CdpError(message, { location: validator.locate(at), hint }));

  const name = raw.name ?? segmentNameOf(file);
  if (raw.name === undefined && !IDENTIFIER.test(name)) fail([], `segment name "${name}" (from the file name) is not an identifier`, 'rename the file or set `name:` (letters, digits and underscores)');
  if (name.length > 63) fail(raw.name === undefined ? [] : ['name'], `segment name "${name}" is longer than 63 characters`, 'PostgreSQL truncates longer identifiers');

  const asOf = parseAsOf(raw.as_of, fail);
  const where = raw.where === undefined || raw.where === null ? undefined : parseCondition(raw.where, ['where'], fail);
  const include = checkNames(raw.include ?? [], ['include'], name, fail);
  const exclude = checkNames(raw.exclude ?? [], ['exclude'], name, fail);
  include.forEach((n, i) => {
    if (exclude.includes(n)) fail(['include', i], `segment "${n}" is both included and excluded`, 'a profile cannot be in it and not in it; keep one');
  });
  const fields = raw.fields === undefined ? undefined : checkFields(raw.fields, fail);
  if (problems.length) throw problems.length === 1 ? problems[0] : new CdpErrors(problems);

  return {
    name, file, description: raw.description, from: raw.from, asOf, where, include, exclude, fields, tags: raw.tags ?? [],
    locate: (at) => validator.locate(at),
  };
}

type Fail = (at: KeyPath, message: string, hint?: string) => void;

function parseAsOf(value: string | undefined, fail: Fail): AsOfSpec {
  if (value === undefined || value.trim().toLowerCase() === 'now') return { kind: 'now' };
  for (const re of VAR_REF) {
    const m = re.exec(value.trim());
    if (m) return { kind: 'var', name: m[1] };
  }
  if (TIMESTAMP_LITERAL.test(value.trim())) return { kind: 'literal', value: value.trim() };
  fail(['as_of'], `invalid as_of "${value}"`, 'use a timestamp such as "2026-06-30" or "2026-06-30 12:00:00", var:NAME for a project var, or leave it out for the current time');
  return { kind: 'now' };
}

function checkNames(names: string[], at: KeyPath, self: string, fail: Fail): string[] {
  names.forEach((n, i) => {
    if (n === self) fail([...at, i], `segment "${self}" ${at[0]}s itself`);
    if (names.indexOf(n) !== i) fail([...at, i], `segment "${n}" is listed twice`);
  });
  return names;
}

function checkFields(fields: string[], fail: Fail): string[] {
  fields.forEach((f, i) => {
    if (f.trim() === '') fail(['fields', i], 'a field must name a column');
    else if (fields.indexOf(f) !== i) fail(['fields', i], `field "${f}" is listed twice`);
  });
  return fields;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CONDITION_HINT = 'a condition is `{ column: ..., op: ..., value: ... }`, `all: [...]`, `any: [...]` or `not: {...}`';

function parseCondition(raw: unknown, at: KeyPath, fail: Fail): Condition | undefined {
  // A bare list reads naturally as "all of these".
  if (Array.isArray(raw)) return parseGroup('all', raw, at, fail);
  if (!isMapping(raw)) {
    fail(at, 'expected a condition', CONDITION_HINT);
    return undefined;
  }
  const keys = Object.keys(raw);
  const groups = keys.filter((k): k is (typeof GROUP_KEYS)[number] => (GROUP_KEYS as readonly string[]).includes(k));
  if (groups.length > 0) {
    if (keys.length > 1) {
      const extra = keys.find((k) => k !== groups[0])!;
      fail([...at, extra], `"${groups[0]}" cannot be combined with "${extra}" in one condition`, 'nest them: put each condition in its own list entry under `all:` or `any:`');
      return undefined;
    }
    const kind = groups[0];
    const inner = raw[kind];
    if (kind === 'not') {
      const item = parseCondition(inner, [...at, 'not'], fail);
      return item && { kind: 'not', item, path: at };
    }
    return parseGroup(kind, inner, [...at, kind], fail);
  }
  if (!('column' in raw) && !('op' in raw)) {
    const first = keys[0];
    const near = first !== undefined ? didYouMean(first, [...GROUP_KEYS, ...LEAF_KEYS]) : undefined;
    fail(first !== undefined ? [...at, first] : at, first !== undefined ? `unknown key "${first}" in a condition` : 'empty condition', `${near ? `did you mean "${near}"? ` : ''}${CONDITION_HINT}`);
    return undefined;
  }
  return parseLeaf(raw, at, fail);
}

function parseGroup(kind: 'all' | 'any', raw: unknown, at: KeyPath, fail: Fail): Condition | undefined {
  if (!Array.isArray(raw) || raw.length === 0) {
    fail(at, `\`${kind}\` needs a non-empty list of conditions`);
    return undefined;
  }
  const items = raw.map((item, i) => parseCondition(item, [...at, i], fail));
  if (items.some((i) => i === undefined)) return undefined;
  return { kind, items: items as Condition[], path: at };
}

function parseLeaf(raw: Record<string, unknown>, at: KeyPath, fail: Fail): LeafCondition | undefined {
  let ok = true;
  const bad: Fail = (p, m, h) => {
    ok = false;
    fail(p, m, h);
  };
  for (const key of Object.keys(raw)) {
    if (LEAF_KEYS.includes(key)) continue;
    const near = didYouMean(key, [...LEAF_KEYS, ...GROUP_KEYS]);
    bad([...at, key], `unknown key "${key}" in a condition`, near ? `did you mean "${near}"?` : CONDITION_HINT);
  }
  const column = raw.column;
  if (column === undefined || column === null) {
    // A misspelt `column` key was reported above; saying it is also missing would be noise.
    if (ok) bad(at, 'missing `column`', CONDITION_HINT);
  } else if (typeof column !== 'string' || column.trim() === '') bad([...at, 'column'], '`column` must name a column');

  const op = raw.op;
  if (op === undefined || op === null) {
    bad(at, 'missing `op`', `expected one of: ${SEGMENT_OPS.join(' ')}`);
    return undefined;
  }
  if (typeof op !== 'string' || !(SEGMENT_OPS as readonly string[]).includes(op)) {
    const text = String(op);
    const near = OP_ALIASES[text.toLowerCase()] ?? didYouMean(text, SEGMENT_OPS);
    bad([...at, 'op'], `unknown op "${text}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${SEGMENT_OPS.join(' ')}`);
    return undefined;
  }
  const value = parseValue(op as SegmentOp, raw.value, 'value' in raw, [...at, 'value'], bad);
  if (!ok) return undefined;
  return { kind: 'leaf', column: column as string, op, path: at, ...(value === undefined ? {} : { value }) } as LeafCondition;
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function parseValue(op: SegmentOp, value: unknown, present: boolean, at: KeyPath, fail: Fail): Scalar | Scalar[] | Duration | undefined {
  switch (op) {
    case 'is_null':
    case 'not_null':
      if (present) fail(at, `op ${op} takes no value`, 'remove `value`');
      return undefined;
    case 'in':
    case 'not_in':
      if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar)) {
        fail(at, `op ${op} needs a non-empty list of values`, 'e.g. `value: [gold, platinum]`; use is_null / not_null for NULLs');
        return undefined;
      }
      return value;
    case 'between':
      if (!Array.isArray(value) || value.length !== 2 || !value.every(isScalar)) {
        fail(at, 'op between needs a list of two values: [low, high]', 'both ends are included, e.g. `value: [100, 500]` or `value: ["2026-01-01", "2026-03-31"]`');
        return undefined;
      }
      return [value[0], value[1]];
    case 'contains':
    case 'starts_with':
      if (typeof value !== 'string' || value === '') {
        fail(at, `op ${op} needs a non-empty string value`);
        return undefined;
      }
      return value;
    case 'within_last':
    case 'older_than': {
      const m = typeof value === 'string' ? DURATION.exec(value) : null;
      const amount = m ? Number(m[1]) : NaN;
      if (!m || !Number.isSafeInteger(amount) || amount <= 0) {
        fail(at, `op ${op} needs a duration such as "30 days"`, `a positive whole number and a unit: ${UNITS.join(', ')} (singular or plural)`);
        return undefined;
      }
      return { amount, unit: m[2].toLowerCase() as TimeUnit };
    }
    default:
      if (value === null || value === undefined) {
        fail(at, `op ${op} needs a value`, op === '=' || op === '!=' ? `to match NULLs use op ${op === '=' ? 'is_null' : 'not_null'}` : undefined);
        return undefined;
      }
      if (!isScalar(value)) {
        fail(at, `op ${op} needs a single value (a string, number or true/false)`, Array.isArray(value) ? 'for a list of values use op in / not_in' : undefined);
        return undefined;
      }
      return value;
  }
}

/** Every leaf of a condition tree, in file order. */
export function leaves(cond: Condition | undefined): LeafCondition[] {
  if (!cond) return [];
  if (cond.kind === 'leaf') return [cond];
  if (cond.kind === 'not') return leaves(cond.item);
  return cond.items.flatMap(leaves);
}

/** True when the tree has a relative time window, which needs a reference time. */
export function usesWindows(cond: Condition | undefined): boolean {
  return leaves(cond).some((l) => l.op === 'within_last' || l.op === 'older_than');
}
