/**
 * Cross-warehouse SQL in templates, two ways:
 *
 * 1. Built-in helpers that write the target's own SQL for constructs the warehouses spell
 *    differently: `{{regexp_replace "lower(email)" "[[:space:]]" ""}}` and
 *    `{{timestamp_minus "p.as_of" 30 "day"}}`.
 * 2. Dispatch by adapter for the project's own macros: a helper exported as
 *    `bigquery__clean_email` (or a partial file `bigquery__clean_text.sql`) replaces
 *    `clean_email` (`clean_text`) when the target is BigQuery; without one, the plain name is
 *    the default. Dispatch happens once, when the template engine is set up for a target, so
 *    rendering costs nothing extra.
 */
import type Handlebars from 'handlebars';
import { CdpError, type SourceLocation } from '../errors.js';
import type { Dialect, TimeUnit } from '../warehouse/types.js';

export const WAREHOUSE_TYPES = ['duckdb', 'postgres', 'bigquery', 'snowflake'] as const;

const TIME_UNITS: readonly TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];

type HelperOptions = Handlebars.HelperOptions & { loc?: hbs.AST.SourceLocation; data?: { root?: unknown } };

function locationOf(options: HelperOptions, file: () => string): SourceLocation {
  const start = options.loc?.start;
  return { file: file(), line: start?.line, column: start ? start.column + 1 : undefined };
}

/**
 * The built-in dialect helpers for one target. `file` names the template being rendered, for
 * error locations.
 */
export function dialectHelpers(dialect: Dialect, file: () => string): Record<string, Handlebars.HelperDelegate> {
  return {
    regexp_replace(...args: unknown[]) {
      const options = args.pop() as HelperOptions;
      const [expr, pattern, replacement] = args;
      if (args.length !== 3 || typeof expr !== 'string' || typeof pattern !== 'string' || typeof replacement !== 'string') {
        throw new CdpError('regexp_replace takes a SQL expression, a pattern and a replacement, e.g. {{regexp_replace "phone" "[^0-9]" ""}}', { location: locationOf(options, file) });
      }
      return dialect.regexpReplace(expr, dialect.quoteString(pattern), dialect.quoteString(replacement));
    },
    timestamp_minus(...args: unknown[]) {
      const options = args.pop() as HelperOptions;
      const [expr, amountArg, unitArg] = args;
      const amount = typeof amountArg === 'string' && /^\d+$/.test(amountArg.trim()) ? Number(amountArg) : amountArg;
      const unit = typeof unitArg === 'string' ? unitArg.replace(/s$/, '') : unitArg;
      if (args.length !== 3 || typeof expr !== 'string' || typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0 || !TIME_UNITS.includes(unit as TimeUnit)) {
        throw new CdpError(`timestamp_minus takes a timestamp expression, a whole number and a unit (${TIME_UNITS.join(', ')}), e.g. {{timestamp_minus "p.as_of" 30 "day"}}`, { location: locationOf(options, file) });
      }
      return dialect.timestampMinus(expr, amount, unit as TimeUnit);
    },
  };
}

export const DIALECT_HELPER_NAMES = ['regexp_replace', 'timestamp_minus'];

/**
 * Picks, for each base name, the item to use on `targetType`: `<targetType>__name` if there
 * is one, else `name`. Items for other warehouses are dropped. Returns [base name, item].
 */
export function dispatchByTarget<T>(items: Iterable<[string, T]>, targetType: string): [string, T][] {
  const defaults = new Map<string, T>();
  const overrides = new Map<string, T>();
  for (const [name, item] of items) {
    const m = /^([a-z]+)__(.+)$/.exec(name);
    if (m && (WAREHOUSE_TYPES as readonly string[]).includes(m[1]!)) {
      if (m[1] === targetType) overrides.set(m[2]!, item);
    } else {
      defaults.set(name, item);
    }
  }
  for (const [name, item] of overrides) defaults.set(name, item);
  return [...defaults];
}
