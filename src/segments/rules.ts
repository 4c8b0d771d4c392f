/**
 * Rule segment -> SELECT. Pure: the dialect only spells SQL, so the same spec compiles for
 * every warehouse. Values from the spec become literals here and nowhere else: strings go
 * through `quoteString`, numbers must be finite, booleans become TRUE/FALSE.
 *
 * NULLs: a leaf on a NULL value never holds (except is_null), and `not` negates that
 * two-valued result, so `not: { column: tier, op: "=", value: gold }` keeps profiles without
 * a tier, as a marketer reading it would expect. (Plain SQL would drop them: NOT NULL is NULL.)
 */
import type { Dialect } from '../warehouse/types.js';
import type { Condition, LeafCondition, RuleSegmentSpec, Scalar } from './spec.js';

export interface RuleSqlContext {
  dialect: Dialect;
  /** Quoted relation of the model the segment filters. */
  from: string;
  /** SQL timestamp expression that relative windows count back from. */
  asOf: string;
  /** Quoted relations of the membership tables of included and excluded segments. */
  include: string[];
  exclude: string[];
}

const ROW = 'f';

export function ruleSegmentSql(spec: Pick<RuleSegmentSpec, 'where' | 'fields'>, ctx: RuleSqlContext): string {
  const q = (n: string) => ctx.dialect.quoteIdent(n);
  const col = (n: string) => `${q(ROW)}.${q(n)}`;
  // profile_id always comes first; listing it in `fields` is harmless.
  const fields = spec.fields?.filter((f) => f !== 'profile_id');
  const columns = fields ? [col('profile_id'), ...fields.map(col)].join(', ') : `${q(ROW)}.*`;
  const filters: string[] = [];
  if (spec.where) filters.push(conditionSql(spec.where, ctx));
  const member = (rel: string, alias: string) => `EXISTS (SELECT 1 FROM ${rel} AS ${q(alias)} WHERE ${q(alias)}.${q('profile_id')} = ${col('profile_id')})`;
  ctx.include.forEach((rel, i) => filters.push(member(rel, `inc${i + 1}`)));
  ctx.exclude.forEach((rel, i) => filters.push(`NOT ${member(rel, `exc${i + 1}`)}`));
  const where = filters.length ? `\nWHERE ${filters.join('\n  AND ')}` : '';
  return `SELECT ${columns}\nFROM ${ctx.from} AS ${q(ROW)}${where}\n`;
}

export function conditionSql(cond: Condition, ctx: Pick<RuleSqlContext, 'dialect' | 'asOf'>): string {
  switch (cond.kind) {
    case 'all':
    case 'any':
      if (cond.items.length === 1) return conditionSql(cond.items[0], ctx);
      return `(${cond.items.map((c) => conditionSql(c, ctx)).join(cond.kind === 'all' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT COALESCE(${conditionSql(cond.item, ctx)}, FALSE))`;
    case 'leaf':
      return leafSql(cond, ctx);
  }
}

function leafSql(leaf: LeafCondition, ctx: Pick<RuleSqlContext, 'dialect' | 'asOf'>): string {
  const d = ctx.dialect;
  const c = `${d.quoteIdent(ROW)}.${d.quoteIdent(leaf.column)}`;
  const lit = (v: Scalar) => literal(v, d);
  switch (leaf.op) {
    case '=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      return `(${c} ${leaf.op} ${lit(leaf.value)})`;
    case '!=':
      return `(${c} <> ${lit(leaf.value)})`;
    case 'in':
      return `(${c} IN (${leaf.value.map(lit).join(', ')}))`;
    case 'not_in':
      // The list holds no NULLs (the spec refuses them), so NOT IN has no NULL trap.
      return `(${c} NOT IN (${leaf.value.map(lit).join(', ')}))`;
    case 'is_null':
      return `(${c} IS NULL)`;
    case 'not_null':
      return `(${c} IS NOT NULL)`;
    case 'between':
      return `(${c} BETWEEN ${lit(leaf.value[0])} AND ${lit(leaf.value[1])})`;
    case 'starts_with':
      // substr counts characters on every target, as does the code-point length here.
      return `(substr(${c}, 1, ${[...leaf.value].length}) = ${lit(leaf.value)})`;
    case 'contains':
      return `(${d.regexpMatches(c, d.quoteString(escapeRegex(leaf.value)))})`;
    case 'within_last':
      // Bounded above too: with a past as_of, later events must not count.
      return `(${c} >= ${d.timestampMinus(ctx.asOf, leaf.value.amount, leaf.value.unit)} AND ${c} <= ${ctx.asOf})`;
    case 'older_than':
      return `(${c} < ${d.timestampMinus(ctx.asOf, leaf.value.amount, leaf.value.unit)})`;
  }
}

export function literal(value: Scalar, dialect: Dialect): string {
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  return dialect.quoteString(value);
}

/**
 * Escapes regular-expression syntax so the text matches literally. A backslash before
 * punctuation means the character itself in RE2 (DuckDB, BigQuery), PostgreSQL and
 * Snowflake alike; letters and digits are never escaped, as `\d` would change meaning.
 */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}-]/g, (ch) => `\\${ch}`);
}

/** The SQL timestamp for `as_of`: a literal (UTC wall time) or the warehouse's current time. */
export function asOfSql(asOf: string | undefined, dialect: Dialect): string {
  if (asOf === undefined) return dialect.currentTimestamp();
  const wall = asOf.replace('T', ' ').replace(/Z$/, '');
  return dialect.cast(dialect.quoteString(wall), 'timestamp');
}
