/**
 * Generic data tests: each compiles to a query whose rows are failures.
 * The SQL is plain ANSI so it runs unchanged on every warehouse.
 */
import { CdpError, type SourceLocation } from '../errors.js';
import { didYouMean } from '../project/schema.js';
import type { Dialect } from '../warehouse/types.js';

export const GENERIC_TESTS = ['unique', 'not_null', 'accepted_values', 'relationships', 'expression'] as const;
export type GenericTestType = (typeof GENERIC_TESTS)[number];

export interface GenericTestInput {
  type: string;
  args: Record<string, unknown>;
  /** Quoted relation of the model under test. */
  relation: string;
  column?: string;
  location: SourceLocation;
  /** Resolves `to:` of a relationships test to a quoted relation. */
  resolveRelation(target: string): string;
  dialect: Dialect;
}

const COMMON_ARGS = ['severity', 'where', 'config', 'name'];

/** Splits `{type: args}` or `"type"` into a type and its arguments. */
export function splitTestEntry(raw: unknown, location: SourceLocation): { type: string; args: Record<string, unknown> } {
  if (typeof raw === 'string') return { type: raw, args: {} };
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length !== 1) throw new CdpError('a test entry must have exactly one key, the test type', { location, hint: 'e.g. - accepted_values: {values: [a, b]}' });
  const [type, args] = entries[0];
  if (type === 'expression' && typeof args === 'string') return { type, args: { expression: args } };
  if (args !== null && (typeof args !== 'object' || Array.isArray(args))) {
    throw new CdpError(`arguments of test "${type}" must be a mapping`, { location, hint: `e.g. - ${type}: {severity: warn}` });
  }
  const flat = { ...((args ?? {}) as Record<string, unknown>) };
  // dbt-style nested `config: {severity: warn}` is accepted too.
  if (flat.config && typeof flat.config === 'object') Object.assign(flat, flat.config as object);
  return { type, args: flat };
}

function requireArg<T>(input: GenericTestInput, key: string, check: (v: unknown) => v is T, expected: string): T {
  const value = input.args[key];
  if (!check(value)) {
    throw new CdpError(`test "${input.type}" needs \`${key}\`: ${expected}`, { location: input.location });
  }
  return value;
}

function requireColumn(input: GenericTestInput): string {
  if (!input.column) throw new CdpError(`test "${input.type}" must be listed under a column`, { location: input.location, hint: 'move it to columns: - name: <column> tests: [...]' });
  return input.column;
}

const ALLOWED_ARGS: Record<GenericTestType, string[]> = {
  unique: [],
  not_null: [],
  accepted_values: ['values', 'quote'],
  relationships: ['to', 'field'],
  expression: ['expression'],
};

export function genericTestSql(input: GenericTestInput): string {
  const type = input.type as GenericTestType;
  if (!GENERIC_TESTS.includes(type)) {
    const near = didYouMean(input.type, GENERIC_TESTS);
    throw new CdpError(`unknown test "${input.type}"`, { location: input.location, hint: `${near ? `did you mean "${near}"? ` : ''}generic tests: ${GENERIC_TESTS.join(', ')}; write custom ones as models/**/*.test.sql` });
  }
  for (const key of Object.keys(input.args)) {
    if (![...ALLOWED_ARGS[type], ...COMMON_ARGS].includes(key)) {
      const near = didYouMean(key, [...ALLOWED_ARGS[type], ...COMMON_ARGS]);
      throw new CdpError(`unknown argument "${key}" for test "${type}"`, { location: input.location, hint: near ? `did you mean "${near}"?` : `allowed: ${[...ALLOWED_ARGS[type], ...COMMON_ARGS].join(', ')}` });
    }
  }
  const q = (c: string) => input.dialect.quoteIdent(c);
  const where = typeof input.args.where === 'string' ? input.args.where : undefined;
  const from = where ? `(select * from ${input.relation} where ${where}) as t` : `${input.relation} as t`;

  switch (type) {
    case 'unique': {
      const col = q(requireColumn(input));
      return `select ${col} as value, count(*) as occurrences\nfrom ${from}\nwhere ${col} is not null\ngroup by ${col}\nhaving count(*) > 1`;
    }
    case 'not_null': {
      const col = q(requireColumn(input));
      return `select *\nfrom ${from}\nwhere ${col} is null`;
    }
    case 'accepted_values': {
      const col = q(requireColumn(input));
      const values = requireArg(input, 'values', (v): v is unknown[] => Array.isArray(v) && v.length > 0, 'a non-empty list');
      const quote = input.args.quote !== false;
      const list = values.map((v) => (quote ? input.dialect.quoteString(String(v)) : String(v))).join(', ');
      return `select ${col} as value, count(*) as occurrences\nfrom ${from}\nwhere ${col} is not null and ${col} not in (${list})\ngroup by ${col}`;
    }
    case 'relationships': {
      const col = q(requireColumn(input));
      const to = requireArg(input, 'to', (v): v is string => typeof v === 'string', 'the parent model, e.g. to: stg_customers');
      const field = q(requireArg(input, 'field', (v): v is string => typeof v === 'string', 'the parent column, e.g. field: customer_id'));
      return `select t.${col} as value\nfrom ${from}\nleft join ${input.resolveRelation(to)} as parent on t.${col} = parent.${field}\nwhere t.${col} is not null and parent.${field} is null`;
    }
    case 'expression': {
      const expr = requireArg(input, 'expression', (v): v is string => typeof v === 'string' && v.trim() !== '', 'a boolean SQL expression that holds for every row');
      return `select *\nfrom ${from}\nwhere not (${expr})`;
    }
  }
}

/** `ref('x')`, `source('s','t')` or a bare model name, as written in a relationships test. */
export function parseTestTarget(to: string): { ref: string } | { source: string; table: string } {
  const ref = /^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$/.exec(to);
  if (ref) return { ref: ref[1] };
  const src = /^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$/.exec(to);
  if (src) return { source: src[1], table: src[2] };
  return { ref: to.trim() };
}

export function testName(type: string, model: string, column: string | undefined, args: Record<string, unknown>): string {
  if (typeof args.name === 'string') return args.name;
  return [type, model, column].filter(Boolean).join('_');
}
