/**
 * Golden-record SQL: one SELECT producing one row per profile, with one column per attribute
 * (chosen by its survivorship rule), optional `<attr>__source` provenance columns, and one
 * column per trait.
 *
 * Shape of the statement:
 * - per source, one CTE joining the source to `<entity>_source_records` once, with every
 *   column the attributes and traits read from it (a join per attribute and source made the
 *   statement several times slower);
 * - per attribute, a candidates CTE: the union of every `from` source's non-NULL values,
 *   each tagged with the profile, the source model name, the record's `updated_at` (NULL when
 *   the source has none) and its key as text;
 * - per attribute, a winner CTE: for single-value rules, the first candidate in the rule's order,
 *   by an ordered aggregate where the dialect has one (`firstByOrder`), else by `row_number()`;
 *   a grouped aggregate for `collect` and `custom`;
 * - per trait, a CTE grouped by profile;
 * - a final select from the profiles table left-joining every CTE, so each profile appears once
 *   even when it has no candidate value or no rows for a trait.
 *
 * Portability: only SQL that DuckDB and PostgreSQL spell the same way, plus Dialect methods.
 * NULLS LAST is spelled as a `CASE` sort key because the two engines default differently.
 * Text tiebreaks (`source`, `record_key`, `value`) follow the warehouse's collation, so two
 * warehouses agree on ties only when their collations do (byte order: DuckDB, PostgreSQL "C").
 *
 * Types: a candidate value keeps its type. When sources disagree (a text column in one, an
 * integer in another) the union either coerces or fails depending on the warehouse; set
 * `type:` on the attribute to cast every candidate to one logical type.
 */
import { CdpError } from '../errors.js';
import type { Dialect } from '../warehouse/types.js';
import type { GoldenAttribute, GoldenSpec, GoldenTrait } from './spec.js';

export interface GoldenSource {
  /** The model name, as stored in `source_records.source`. */
  name: string;
  /** The model's relation, already quoted. */
  relation: string;
  /** The key column (the identity spec's `key`), matched to `source_records.record_key` as text. */
  key: string;
  /** The column recording when a record last changed; recency rules treat its absence as unknown. */
  updatedAt?: string;
}

export interface GoldenSqlContext {
  /** Quoted relation of `<entity>_source_records (source, record_key, profile_id)`. */
  sourceRecords: string;
  /** Quoted relation of `<entity>_profiles`, one row per `profile_id`. */
  profiles: string;
  /** Keyed by the source names the spec uses. */
  sources: Record<string, GoldenSource>;
  dialect: Dialect;
}

const PLAIN_COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What one source contributes: its columns, named by the attribute or trait that reads them. */
interface SourceColumns {
  source: GoldenSource;
  cte: string;
  columns: [alias: string, expr: string][];
}

type ReadColumn = (source: string, path: string[], alias: string, expr: string) => string;

export function goldenRecordSql(spec: GoldenSpec, ctx: GoldenSqlContext): string {
  const q = (name: string) => ctx.dialect.quoteIdent(name);
  const columns: string[] = [`${q('p')}.${q('profile_id')}`];
  const joins: string[] = [];
  const joinCte = (cte: string) => joins.push(`LEFT JOIN ${q(cte)} ON ${q(cte)}.${q('profile_id')} = ${q('p')}.${q('profile_id')}`);
  const bySource = new Map<string, SourceColumns>();
  /** Adds a column read from a source and returns the CTE that carries it. */
  const read: ReadColumn = (sourceName, path, alias, expr) => {
    let entry = bySource.get(sourceName);
    if (!entry) {
      entry = { source: sourceFor(spec, sourceName, path, ctx), cte: `src${bySource.size + 1}`, columns: [] };
      bySource.set(sourceName, entry);
    }
    entry.columns.push([alias, expr]);
    return entry.cte;
  };
  const ctes: string[] = [];

  Object.entries(spec.attributes ?? {}).forEach(([name, attr], i) => {
    const candidates = `attr${i + 1}_candidates`;
    const winner = `attr${i + 1}`;
    ctes.push(`-- attribute ${name}: ${attr.rule}\n${q(candidates)} AS (\n${candidatesSql(name, attr, i + 1, read, ctx)}\n)`);
    ctes.push(`${q(winner)} AS (\n${winnerSql(attr, candidates, ctx)}\n)`);
    columns.push(`${q(winner)}.${q('value')} AS ${q(name)}`);
    if (spec.provenance) columns.push(`${q(winner)}.${q('source')} AS ${q(`${name}__source`)}`);
    joinCte(winner);
  });

  Object.entries(spec.traits ?? {}).forEach(([name, trait], i) => {
    const cte = `trait${i + 1}`;
    ctes.push(`-- trait ${name}: ${trait.agg}\n${q(cte)} AS (\n${traitSql(name, trait, i + 1, read, ctx)}\n)`);
    const value = `${q(cte)}.${q('value')}`;
    // A profile with no rows has counted zero of them; every other aggregate of nothing is unknown.
    columns.push(`${trait.agg === 'count' || trait.agg === 'count_distinct' ? `COALESCE(${value}, 0)` : value} AS ${q(name)}`);
    joinCte(cte);
  });

  // The source CTEs go first: the attribute and trait CTEs read them.
  const all = [...[...bySource.values()].map((entry) => sourceCte(entry, ctx)), ...ctes];
  const select = [`SELECT\n  ${columns.join(',\n  ')}`, `FROM ${ctx.profiles} AS ${q('p')}`, ...joins].join('\n');
  return all.length ? `WITH\n${all.join(',\n')}\n${select}` : select;
}

/** A source's rows with their profile: the one join of that source to `source_records`. */
function sourceCte({ source, cte, columns }: SourceColumns, ctx: GoldenSqlContext): string {
  const { dialect } = ctx;
  const q = (name: string) => dialect.quoteIdent(name);
  // A typed NULL, so a union of sources that all lack updated_at still has a timestamp column.
  const updatedAt = source.updatedAt ? columnOrExpression(source.updatedAt, dialect) : dialect.cast('NULL', 'timestamp');
  const name = dialect.quoteString(source.name);
  const read = [...columns.map(([alias, expr]) => `${expr} AS ${q(alias)}`), `${updatedAt} AS ${q('updated_at')}`, `${keyAsText(source, dialect)} AS ${q('record_key')}`];
  // The source's columns are read in their own subquery so that user expressions cannot
  // collide with source_records' column names (source, record_key, profile_id).
  return (
    `-- source ${source.name}\n${q(cte)} AS (\n` +
    `  SELECT ${q('sr')}.${q('profile_id')}, ${name} AS ${q('source')}, ${q('s')}.*\n` +
    `  FROM (SELECT ${read.join(', ')} FROM ${source.relation}) AS ${q('s')}\n` +
    `  JOIN ${ctx.sourceRecords} AS ${q('sr')} ON ${q('sr')}.${q('source')} = ${name} AND ${q('sr')}.${q('record_key')} = ${q('s')}.${q('record_key')}\n)`
  );
}

function candidatesSql(attrName: string, attr: GoldenAttribute, index: number, read: ReadColumn, ctx: GoldenSqlContext): string {
  const { dialect } = ctx;
  const q = (name: string) => dialect.quoteIdent(name);
  const branches = Object.entries(attr.from).map(([sourceName, expr], j) => {
    const rawValue = columnOrExpression(expr, dialect);
    const alias = `a${index}_${j + 1}`;
    const cte = read(sourceName, ['attributes', attrName, 'from', sourceName], alias, attr.type ? dialect.cast(rawValue, attr.type) : rawValue);
    return `  SELECT ${q('profile_id')}, ${q('source')}, ${q(alias)} AS ${q('value')}, ${q('updated_at')}, ${q('record_key')}\n  FROM ${q(cte)} WHERE ${q(alias)} IS NOT NULL`;
  });
  return branches.join('\n  UNION ALL\n');
}

function winnerSql(attr: GoldenAttribute, candidates: string, ctx: GoldenSqlContext): string {
  const { dialect } = ctx;
  const q = (name: string) => dialect.quoteIdent(name);
  const [profileId, value, source, updatedAt, recordKey] = ['profile_id', 'value', 'source', 'updated_at', 'record_key'].map(q);

  // No single source wins an aggregate, so provenance lists every source that contributed.
  const grouped = (aggregate: string) =>
    `  SELECT ${profileId}, ${aggregate} AS ${value}, ${dialect.arrayAgg(source, source)} AS ${source}\n  FROM ${q(candidates)}\n  GROUP BY ${profileId}`;
  if (attr.rule === 'custom') return grouped(`(${attr.sql})`);
  if (attr.rule === 'collect') return grouped(dialect.arrayAgg(value, value));

  // Ties are broken down to the record, so the winner never depends on row order.
  const recency = [nullsLastKey(updatedAt), `${updatedAt} DESC`, `${source} ASC`, `${recordKey} ASC`];
  let input = q(candidates);
  let order: string[];
  switch (attr.rule) {
    case 'most_recent':
      order = recency;
      break;
    case 'oldest':
      order = [nullsLastKey(updatedAt), `${updatedAt} ASC`, `${source} ASC`, `${recordKey} ASC`];
      break;
    case 'longest':
      order = [`length(${dialect.cast(value, 'text')}) DESC`, ...recency];
      break;
    case 'min':
      order = [`${value} ASC`, ...recency];
      break;
    case 'max':
      order = [`${value} DESC`, ...recency];
      break;
    case 'source_priority': {
      // Unlisted sources rank after every listed one, in name order.
      const whens = attr.priority.map((name, i) => `WHEN ${dialect.quoteString(ctx.sources[name]?.name ?? name)} THEN ${i}`).join(' ');
      order = [`CASE ${source} ${whens} ELSE ${attr.priority.length} END`, ...recency];
      break;
    }
    case 'most_frequent': {
      const [frequency, lastSeen] = [q('value_frequency'), q('value_last_seen')];
      const byValue = [`${frequency} DESC`, nullsLastKey(lastSeen), `${lastSeen} DESC`, `${value} ASC`];
      if (dialect.firstByOrder) {
        // One row per (profile, value), carrying the source of the value's most recent record:
        // the same winner as ranking every candidate, at a third less work on DuckDB.
        input =
          `(SELECT ${profileId}, ${value}, count(*) AS ${frequency}, max(${updatedAt}) AS ${lastSeen}, ${dialect.firstByOrder(source, recency.join(', '))} AS ${source} ` +
          `FROM ${q(candidates)} GROUP BY ${profileId}, ${value}) AS ${q('counted')}`;
        order = byValue;
        break;
      }
      input =
        `(SELECT *, count(*) OVER (PARTITION BY ${profileId}, ${value}) AS ${frequency}, ` +
        `max(${updatedAt}) OVER (PARTITION BY ${profileId}, ${value}) AS ${lastSeen} FROM ${q(candidates)}) AS ${q('counted')}`;
      order = [...byValue, ...recency];
      break;
    }
    default: {
      const unhandled: never = attr.rule;
      throw new Error(`unhandled survivorship rule ${String(unhandled)}`);
    }
  }
  const by = order.join(', ');
  // Both aggregates sort by the same complete order, so value and source come from one row.
  if (dialect.firstByOrder) {
    return `  SELECT ${profileId}, ${dialect.firstByOrder(value, by)} AS ${value}, ${dialect.firstByOrder(source, by)} AS ${source}\n  FROM ${input}\n  GROUP BY ${profileId}`;
  }
  return (
    `  SELECT ${profileId}, ${value}, ${source} FROM (\n` +
    `    SELECT ${profileId}, ${value}, ${source}, row_number() OVER (PARTITION BY ${profileId} ORDER BY ${by}) AS ${q('rank')}\n` +
    `    FROM ${input}\n` +
    `  ) AS ${q('ranked')}\n` +
    `  WHERE ${q('rank')} = 1`
  );
}

function traitSql(traitName: string, trait: GoldenTrait, index: number, read: ReadColumn, ctx: GoldenSqlContext): string {
  const { dialect } = ctx;
  const q = (name: string) => dialect.quoteIdent(name);
  const path = ['traits', traitName, 'from'];
  const valueAlias = `t${index}_value`;
  const value = q(valueAlias);
  const aggregates: Record<GoldenTrait['agg'], string> = {
    count: trait.expr ? `count(${value})` : 'count(*)',
    count_distinct: `count(DISTINCT ${value})`,
    sum: `sum(${value})`,
    avg: `avg(${value})`,
    min: `min(${value})`,
    max: `max(${value})`,
    // Portable: bool_or is LOGICAL_OR on BigQuery and BOOLOR_AGG on Snowflake.
    bool_or: `(max(case when ${value} then 1 else 0 end) = 1)`,
  };
  let cte = trait.expr ? read(trait.from, path, valueAlias, columnOrExpression(trait.expr, dialect)) : undefined;
  let where = '';
  if (trait.where) {
    // Evaluated over the source's own columns, as a flag: a NULL condition excludes the row.
    const flag = `t${index}_where`;
    cte = read(trait.from, path, flag, `CASE WHEN (${trait.where}) THEN 1 ELSE 0 END`);
    where = ` WHERE ${q(flag)} = 1`;
  }
  cte ??= read(trait.from, path, `t${index}_row`, '1');
  return `  SELECT ${q('profile_id')}, ${aggregates[trait.agg]} AS ${q('value')}\n  FROM ${q(cte)}${where}\n  GROUP BY ${q('profile_id')}`;
}

/** A sort key that puts NULLs of `expr` last whatever the direction of the next key. */
function nullsLastKey(expr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN 1 ELSE 0 END`;
}

/** Plain names are quoted (so reserved words work); anything else is a SQL expression. */
function columnOrExpression(text: string, dialect: Dialect): string {
  const trimmed = text.trim();
  return PLAIN_COLUMN.test(trimmed) ? dialect.quoteIdent(trimmed) : `(${trimmed})`;
}

function keyAsText(source: GoldenSource, dialect: Dialect): string {
  return dialect.cast(columnOrExpression(source.key, dialect), 'text');
}

function sourceFor(spec: GoldenSpec, name: string, path: string[], ctx: GoldenSqlContext): GoldenSource {
  const source = ctx.sources[name];
  if (!source) {
    const known = Object.keys(ctx.sources);
    throw new CdpError(`golden record ${spec.name}: unknown source "${name}" at ${path.join('.')}`, {
      hint: known.length ? `sources of entity ${spec.entity}: ${known.join(', ')}` : `entity ${spec.entity} has no sources`,
    });
  }
  return source;
}
