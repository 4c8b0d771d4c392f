/**
 * Golden-record specs (`<entity>.golden.yml` under models/): one row per profile, one value per
 * attribute chosen by a survivorship rule, plus traits aggregated from one source each.
 * This module holds the types and the validation of a parsed file; `sql.ts` generates SQL.
 */
import { closest, distance } from 'fastest-levenshtein';
import type { LogicalType } from '../warehouse/types.js';

export const SURVIVORSHIP_RULES = ['most_recent', 'oldest', 'most_frequent', 'source_priority', 'longest', 'min', 'max', 'collect', 'custom'] as const;
export type SurvivorshipRule = (typeof SURVIVORSHIP_RULES)[number];

export const TRAIT_AGGS = ['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'bool_or'] as const;
export type TraitAgg = (typeof TRAIT_AGGS)[number];

const LOGICAL_TYPES: readonly LogicalType[] = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'text', 'date', 'timestamp', 'json'];

interface AttributeBase {
  /** Source model -> a column name or a SQL expression over that model's columns. */
  from: Record<string, string>;
  /**
   * Casts every candidate value to this type. Needed only when the sources disagree on the
   * type (e.g. an expression in one and a column in another); otherwise values keep their type.
   */
  type?: LogicalType;
  description?: string;
}

export type GoldenAttribute =
  | (AttributeBase & { rule: 'most_recent' | 'oldest' | 'most_frequent' | 'longest' | 'min' | 'max' | 'collect' })
  /** Sources in order of trust; the first with a non-NULL value wins. */
  | (AttributeBase & { rule: 'source_priority'; priority: string[] })
  /** An aggregate over the candidate rows' `value`, `updated_at`, `source` and `record_key`. */
  | (AttributeBase & { rule: 'custom'; sql: string });

export interface GoldenTrait {
  from: string;
  agg: TraitAgg;
  /** A SQL expression over the source's columns; optional only for `count` (rows). */
  expr?: string;
  /** A SQL condition over the source's columns, applied before aggregating. */
  where?: string;
  description?: string;
}

export interface GoldenSpec {
  /** The table to build. */
  name: string;
  entity: string;
  /** Adds `<attr>__source` columns naming the source model that won. */
  provenance?: boolean;
  description?: string;
  attributes: Record<string, GoldenAttribute>;
  traits?: Record<string, GoldenTrait>;
}

export interface GoldenSpecIssue {
  path: (string | number)[];
  message: string;
  hint?: string;
}

/**
 * Column and CTE names are quoted, so anything is legal SQL, but names that need quoting are
 * painful downstream. PostgreSQL truncates identifiers at 63 bytes; `<attr>__source` must fit.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_NAME = 63 - '__source'.length;
/** The key column of every golden table. */
const RESERVED = ['profile_id'];

const SPEC_KEYS = ['name', 'entity', 'provenance', 'description', 'attributes', 'traits'];
const ATTRIBUTE_KEYS = ['rule', 'from', 'priority', 'sql', 'type', 'description'];
const TRAIT_KEYS = ['from', 'agg', 'expr', 'where', 'description'];

/**
 * Checks a parsed spec (shape and meaning) and returns every problem found, each with the key
 * path it concerns. `knownSources` are the models the spec may read from.
 */
export function validateGoldenSpec(raw: unknown, knownSources: string[]): GoldenSpecIssue[] {
  const issues: GoldenSpecIssue[] = [];
  const fail = (path: (string | number)[], message: string, hint?: string) => issues.push(hint ? { path, message, hint } : { path, message });

  if (!isMapping(raw)) {
    fail([], 'a golden-record spec must be a mapping', 'expected keys: name, entity, attributes, traits');
    return issues;
  }
  unknownKeys(raw, SPEC_KEYS, [], fail);
  checkName(raw.name, ['name'], 'name', fail, true);
  checkName(raw.entity, ['entity'], 'entity', fail, true);
  if (raw.provenance !== undefined && typeof raw.provenance !== 'boolean') fail(['provenance'], '`provenance` must be true or false');
  if (raw.description !== undefined && typeof raw.description !== 'string') fail(['description'], '`description` must be a string');

  const attributes = optionalMapping(raw.attributes, ['attributes'], fail);
  const traits = optionalMapping(raw.traits, ['traits'], fail);
  const malformed = (v: unknown) => v !== undefined && v !== null && !isMapping(v);
  const columnCount = Object.keys(attributes ?? {}).length + Object.keys(traits ?? {}).length;
  if (columnCount === 0 && !malformed(raw.attributes) && !malformed(raw.traits)) {
    fail(['attributes'], 'the spec defines no attributes and no traits', 'add at least one attribute (e.g. `email: { rule: most_recent, from: { <model>: email } }`) or trait');
  }

  // DuckDB column names are case-insensitive, so `Email` and `email` collide there.
  const columns = new Map<string, (string | number)[]>();
  const claim = (column: string, path: (string | number)[], what: string) => {
    const prior = columns.get(column.toLowerCase());
    if (prior) {
      fail(path, `${what} "${column}" clashes with ${prior.join('.')}`, 'attribute and trait names become columns of one table, so they must be unique (case-insensitively)');
    } else {
      columns.set(column.toLowerCase(), path);
    }
  };
  const provenance = raw.provenance === true;

  for (const [name, attr] of Object.entries(attributes ?? {})) {
    const path = ['attributes', name];
    if (checkName(name, path, 'attribute name', fail, false)) {
      claim(name, path, 'attribute');
      if (provenance) claim(`${name}__source`, path, 'provenance column');
    }
    checkAttribute(attr, path, knownSources, fail);
  }
  for (const [name, trait] of Object.entries(traits ?? {})) {
    const path = ['traits', name];
    if (checkName(name, path, 'trait name', fail, false)) claim(name, path, 'trait');
    checkTrait(trait, path, knownSources, fail);
  }
  return issues;
}

type Fail = (path: (string | number)[], message: string, hint?: string) => void;

function checkAttribute(attr: unknown, path: (string | number)[], knownSources: string[], fail: Fail): void {
  if (!isMapping(attr)) {
    fail(path, 'an attribute must be a mapping', 'e.g. `{ rule: most_recent, from: { stg_contacts: email } }`');
    return;
  }
  unknownKeys(attr, ATTRIBUTE_KEYS, path, fail);

  const rule = attr.rule;
  const knownRule = typeof rule === 'string' && (SURVIVORSHIP_RULES as readonly string[]).includes(rule);
  if (rule === undefined || rule === null) {
    fail([...path, 'rule'], 'missing `rule`', `expected one of: ${SURVIVORSHIP_RULES.join(', ')}`);
  } else if (!knownRule) {
    const near = typeof rule === 'string' ? suggest(rule, SURVIVORSHIP_RULES) : undefined;
    fail([...path, 'rule'], `unknown rule "${String(rule)}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${SURVIVORSHIP_RULES.join(', ')}`);
  }

  const from = attr.from;
  const fromSources: string[] = [];
  if (from === undefined || from === null) {
    fail([...path, 'from'], 'missing `from`', 'map each source model to the column (or SQL expression) holding this attribute, e.g. `from: { stg_contacts: email }`');
  } else if (!isMapping(from) || Object.keys(from).length === 0) {
    fail([...path, 'from'], '`from` must be a non-empty mapping of source model to column or SQL expression');
  } else {
    for (const [source, expr] of Object.entries(from)) {
      fromSources.push(source);
      checkSource(source, [...path, 'from', source], knownSources, fail);
      if (typeof expr !== 'string' || expr.trim() === '') fail([...path, 'from', source], `the value for source "${source}" must be a column name or SQL expression`);
    }
  }

  if (attr.type !== undefined && !(typeof attr.type === 'string' && (LOGICAL_TYPES as readonly string[]).includes(attr.type))) {
    const near = typeof attr.type === 'string' ? suggest(attr.type, LOGICAL_TYPES) : undefined;
    fail([...path, 'type'], `unknown type "${String(attr.type)}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${LOGICAL_TYPES.join(', ')}`);
  }
  if (attr.description !== undefined && typeof attr.description !== 'string') fail([...path, 'description'], '`description` must be a string');

  if (rule === 'source_priority') {
    const priority = attr.priority;
    if (priority === undefined || priority === null) {
      fail([...path, 'priority'], 'rule source_priority needs `priority`', `list the sources from most to least trusted, e.g. \`priority: [${fromSources.join(', ')}]\``);
    } else if (!Array.isArray(priority) || priority.length === 0 || !priority.every((p) => typeof p === 'string')) {
      fail([...path, 'priority'], '`priority` must be a non-empty list of source model names');
    } else {
      const seen = new Set<string>();
      priority.forEach((p: string, i) => {
        if (seen.has(p)) fail([...path, 'priority', i], `source "${p}" is listed twice in \`priority\``);
        seen.add(p);
        if (fromSources.length > 0 && !fromSources.includes(p)) {
          const near = suggest(p, fromSources);
          fail([...path, 'priority', i], `priority names source "${p}", which is not in \`from\``, near ? `did you mean "${near}"?` : `sources in \`from\`: ${fromSources.join(', ')}`);
        }
      });
    }
  } else if (attr.priority !== undefined) {
    fail([...path, 'priority'], '`priority` only applies to rule source_priority', knownRule ? `remove it, or use \`rule: source_priority\`` : undefined);
  }

  if (rule === 'custom') {
    if (typeof attr.sql !== 'string' || attr.sql.trim() === '') {
      fail([...path, 'sql'], 'rule custom needs `sql`', 'an aggregate over the candidate rows\' columns value, updated_at, source, record_key, e.g. `sql: "max(value)"`');
    }
  } else if (attr.sql !== undefined) {
    fail([...path, 'sql'], '`sql` only applies to rule custom', knownRule ? 'remove it, or use `rule: custom`' : undefined);
  }
}

function checkTrait(trait: unknown, path: (string | number)[], knownSources: string[], fail: Fail): void {
  if (!isMapping(trait)) {
    fail(path, 'a trait must be a mapping', 'e.g. `{ from: stg_orders, agg: sum, expr: amount }`');
    return;
  }
  unknownKeys(trait, TRAIT_KEYS, path, fail);
  if (trait.from === undefined || trait.from === null) {
    fail([...path, 'from'], 'missing `from`', 'name the source model to aggregate, e.g. `from: stg_orders`');
  } else if (typeof trait.from !== 'string') {
    fail([...path, 'from'], '`from` must name one source model');
  } else {
    checkSource(trait.from, [...path, 'from'], knownSources, fail);
  }

  const agg = trait.agg;
  if (agg === undefined || agg === null) {
    fail([...path, 'agg'], 'missing `agg`', `expected one of: ${TRAIT_AGGS.join(', ')}`);
  } else if (!(typeof agg === 'string' && (TRAIT_AGGS as readonly string[]).includes(agg))) {
    const near = typeof agg === 'string' ? suggest(agg, TRAIT_AGGS) : undefined;
    fail([...path, 'agg'], `unknown agg "${String(agg)}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${TRAIT_AGGS.join(', ')}`);
  } else if (agg !== 'count' && (trait.expr === undefined || trait.expr === null)) {
    fail([...path, 'expr'], `agg ${agg} needs \`expr\``, 'a column name or SQL expression over the source\'s columns');
  }
  for (const key of ['expr', 'where', 'description'] as const) {
    const v = trait[key];
    if (v !== undefined && v !== null && (typeof v !== 'string' || v.trim() === '')) fail([...path, key], `\`${key}\` must be a non-empty string`);
  }
}

function checkSource(source: string, path: (string | number)[], knownSources: string[], fail: Fail): void {
  if (knownSources.includes(source)) return;
  const near = suggest(source, knownSources);
  fail(path, `unknown source "${source}"`, near ? `did you mean "${near}"?` : knownSources.length ? `known sources: ${knownSources.join(', ')}` : 'the identity spec of this entity lists no sources');
}

/** Returns true when `value` is a usable name. */
function checkName(value: unknown, path: (string | number)[], what: string, fail: Fail, required: boolean): value is string {
  if (value === undefined || value === null) {
    if (required) fail(path, `missing \`${path[path.length - 1]}\``);
    return false;
  }
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    fail(path, `invalid ${what} "${String(value)}"`, 'use letters, digits and underscores, starting with a letter or underscore');
    return false;
  }
  if (value.length > MAX_NAME) {
    fail(path, `${what} "${value}" is longer than ${MAX_NAME} characters`, 'PostgreSQL truncates longer identifiers');
    return false;
  }
  if (!required && RESERVED.includes(value.toLowerCase())) {
    fail(path, `${what} "${value}" is reserved`, 'every golden table already has a profile_id column');
    return false;
  }
  return true;
}

function optionalMapping(value: unknown, path: (string | number)[], fail: Fail): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) {
    fail(path, `\`${path[path.length - 1]}\` must be a mapping of names to definitions`);
    return undefined;
  }
  return value;
}

function unknownKeys(obj: Record<string, unknown>, allowed: string[], path: (string | number)[], fail: Fail): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const near = suggest(key, allowed);
    fail([...path, key], `unknown key "${key}"`, near ? `did you mean "${near}"?` : `allowed keys: ${allowed.join(', ')}`);
  }
}

function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(input, candidates as string[]);
  return distance(input, best) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
