/**
 * Translates the documented subset of Snowflake SQL to DuckDB SQL for the local protocol
 * endpoint (snowflake-server.ts). It works on tokens, never on raw text, so string literals and
 * quoted identifiers are never rewritten by accident.
 *
 * The subset (anything else reaches DuckDB unchanged and may fail there):
 * - Identifiers: unquoted words are upper-cased, as Snowflake does, so result column names
 *   come back as Snowflake returns them (`select 1 as n` -> `N`). DuckDB resolves names
 *   case-insensitively, so a case mismatch that real Snowflake would reject goes unnoticed.
 * - Literals: '...' strings with Snowflake's backslash escapes (\\, \', \n, \t, \0), '' quotes
 *   and $$...$$ strings; re-emitted as DuckDB literals.
 * - Binds: `?` (in order) and `:1`, `:2`, ... (by position) are substituted as literals from the
 *   request's `bindings` (types TEXT, FIXED, REAL, BOOLEAN, ANY; NULL values). Array binds are
 *   not supported.
 * - Types (after `::`, `AS`, or a quoted column name): NUMBER[(p,s)], DECIMAL, NUMERIC, INT,
 *   INTEGER, BIGINT, SMALLINT, TINYINT, BYTEINT, FLOAT, FLOAT4, FLOAT8, DOUBLE, REAL, VARCHAR,
 *   STRING, TEXT, CHAR, BOOLEAN, DATE, TIMESTAMP, TIMESTAMP_NTZ, TIMESTAMP_LTZ, TIMESTAMP_TZ,
 *   VARIANT, OBJECT, ARRAY (the last three as DuckDB JSON).
 * - Functions: SHA2(x, 256), EQUAL_NULL, UUID_STRING, SYSDATE, CURRENT_TIMESTAMP,
 *   REGEXP_LIKE (whole-string match), REGEXP_INSTR (0/1 only), REGEXP_REPLACE(x, p, r) (all matches),
 *   PARSE_JSON, TO_JSON, TO_VARCHAR, IFF, DATEADD(unit, n, x), OBJECT_CONSTRUCT_KEEP_NULL,
 *   ARRAY_AGG([DISTINCT] x) [WITHIN GROUP (ORDER BY ...)] (NULLs skipped), CURRENT_DATABASE,
 *   CURRENT_SCHEMA, CURRENT_WAREHOUSE, CURRENT_ROLE, CURRENT_USER, CURRENT_ACCOUNT,
 *   CURRENT_VERSION.
 * - Statements: SELECT/WITH, INSERT, UPDATE, DELETE, MERGE INTO (DuckDB's MERGE), CREATE
 *   [OR REPLACE] [TRANSIENT] TABLE/VIEW/SCHEMA, DROP, ALTER TABLE/VIEW ... RENAME TO [schema.]name
 *   (same schema only), ALTER TABLE a SWAP WITH b, BEGIN/START TRANSACTION, COMMIT, ROLLBACK,
 *   ALTER SESSION SET/UNSET and USE (accepted and recorded, no effect).
 * Not supported: IDENTIFIER(), FLATTEN/LATERAL, QUALIFY, stages, PUT/GET, COPY INTO, SHOW,
 * DESCRIBE, `$1` column references, multi-statement requests.
 */

export interface Bind {
  type: string;
  value: unknown;
}

export interface SessionValues {
  database: string | null;
  schema: string | null;
  warehouse: string | null;
  role: string | null;
  user: string;
  account: string;
}

export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'merge' | 'ddl' | 'begin' | 'commit' | 'rollback' | 'session' | 'swap';

export interface Translated {
  kind: StatementKind;
  /** DuckDB statements to run in order (SWAP WITH needs three renames). */
  sql: string[];
  /** For `session` statements: ALTER SESSION SET QUERY_TAG = '...' records the tag. */
  queryTag?: string | null;
}

export class TranslationError extends Error {
  constructor(
    message: string,
    readonly code = '001003',
    readonly sqlState = '42000',
  ) {
    super(message);
  }
}

type TokenKind = 'ws' | 'comment' | 'string' | 'qident' | 'word' | 'number' | 'bind' | 'punct';

interface Token {
  kind: TokenKind;
  text: string;
  /** Decoded value of a string literal; the bind index (0-based, -1 for `?`) of a bind. */
  value?: string | number;
}

export const DUCKDB_MACROS = [
  `CREATE OR REPLACE TEMP MACRO sf_sha2(x, bits) AS sha256(CAST(x AS VARCHAR))`,
  `CREATE OR REPLACE TEMP MACRO sf_equal_null(a, b) AS (a IS NOT DISTINCT FROM b)`,
  `CREATE OR REPLACE TEMP MACRO sf_uuid_string() AS CAST(uuid() AS VARCHAR)`,
  `CREATE OR REPLACE TEMP MACRO sf_sysdate() AS CAST(timezone('UTC', now()) AS TIMESTAMP)`,
  `CREATE OR REPLACE TEMP MACRO sf_regexp_like(x, p) AS regexp_full_match(x, p)`,
  `CREATE OR REPLACE TEMP MACRO sf_regexp_instr(x, p) AS CASE WHEN regexp_matches(x, p) THEN 1 ELSE 0 END`,
  `CREATE OR REPLACE TEMP MACRO sf_regexp_replace(x, p, r) AS regexp_replace(x, p, r, 'g')`,
  `CREATE OR REPLACE TEMP MACRO sf_parse_json(x) AS CAST(x AS JSON)`,
  `CREATE OR REPLACE TEMP MACRO sf_to_json(x) AS CAST(to_json(x) AS VARCHAR)`,
  `CREATE OR REPLACE TEMP MACRO sf_to_varchar(x) AS CAST(x AS VARCHAR)`,
  `CREATE OR REPLACE TEMP MACRO sf_iff(c, a, b) AS CASE WHEN c THEN a ELSE b END`,
  `CREATE OR REPLACE TEMP MACRO sf_dateadd(unit, n, x) AS CASE lower(unit)
     WHEN 'minute' THEN x + to_minutes(CAST(n AS BIGINT)) WHEN 'hour' THEN x + to_hours(CAST(n AS BIGINT))
     WHEN 'day' THEN x + to_days(CAST(n AS INTEGER)) WHEN 'week' THEN x + to_days(CAST(n AS INTEGER) * 7)
     WHEN 'month' THEN x + to_months(CAST(n AS INTEGER)) WHEN 'year' THEN x + to_years(CAST(n AS INTEGER))
     ELSE error('DATEADD: unsupported unit ' || unit) END`,
];

const RENAMED_FUNCTIONS: Record<string, string> = {
  SHA2: 'SF_SHA2',
  EQUAL_NULL: 'SF_EQUAL_NULL',
  UUID_STRING: 'SF_UUID_STRING',
  SYSDATE: 'SF_SYSDATE',
  REGEXP_LIKE: 'SF_REGEXP_LIKE',
  REGEXP_INSTR: 'SF_REGEXP_INSTR',
  REGEXP_REPLACE: 'SF_REGEXP_REPLACE',
  PARSE_JSON: 'SF_PARSE_JSON',
  TO_JSON: 'SF_TO_JSON',
  TO_VARCHAR: 'SF_TO_VARCHAR',
  IFF: 'SF_IFF',
  OBJECT_CONSTRUCT_KEEP_NULL: 'JSON_OBJECT',
};

const TYPE_NAMES: Record<string, string> = {
  NUMBER: 'DECIMAL',
  NUMERIC: 'DECIMAL',
  INT: 'BIGINT',
  INTEGER: 'BIGINT',
  SMALLINT: 'BIGINT',
  TINYINT: 'BIGINT',
  BYTEINT: 'BIGINT',
  FLOAT: 'DOUBLE',
  FLOAT4: 'DOUBLE',
  FLOAT8: 'DOUBLE',
  REAL: 'DOUBLE',
  STRING: 'VARCHAR',
  TEXT: 'VARCHAR',
  TIMESTAMP_NTZ: 'TIMESTAMP',
  TIMESTAMP_LTZ: 'TIMESTAMPTZ',
  TIMESTAMP_TZ: 'TIMESTAMPTZ',
  VARIANT: 'JSON',
  OBJECT: 'JSON',
  ARRAY: 'JSON',
};
const KEPT_TYPES = new Set(['DECIMAL', 'BIGINT', 'DOUBLE', 'VARCHAR', 'CHAR', 'BOOLEAN', 'DATE', 'TIMESTAMP']);

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const rest = sql.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\s+/.exec(rest))) {
      tokens.push({ kind: 'ws', text: m[0] });
    } else if ((m = /^(--|\/\/)[^\n]*/.exec(rest)) || (m = /^\/\*[\s\S]*?\*\//.exec(rest))) {
      tokens.push({ kind: 'comment', text: m[0] });
    } else if (c === "'") {
      const { text, value } = readString(sql, i);
      tokens.push({ kind: 'string', text, value });
    } else if (rest.startsWith('$$')) {
      const end = sql.indexOf('$$', i + 2);
      if (end < 0) throw new TranslationError('SQL compilation error: unterminated $$ string');
      tokens.push({ kind: 'string', text: sql.slice(i, end + 2), value: sql.slice(i + 2, end) });
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        const q = sql.indexOf('"', j);
        if (q < 0) throw new TranslationError('SQL compilation error: unterminated quoted identifier');
        if (sql[q + 1] === '"') j = q + 2;
        else {
          j = q + 1;
          break;
        }
      }
      tokens.push({ kind: 'qident', text: sql.slice(i, j) });
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(rest))) {
      tokens.push({ kind: 'word', text: m[0].toUpperCase() });
    } else if ((m = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest))) {
      tokens.push({ kind: 'number', text: m[0] });
    } else if (c === '?') {
      tokens.push({ kind: 'bind', text: '?', value: -1 });
    } else if ((m = /^:(\d+)/.exec(rest)) && sql[i - 1] !== ':') {
      tokens.push({ kind: 'bind', text: m[0], value: Number(m[1]) - 1 });
    } else if ((m = /^(::|<=|>=|<>|!=|\|\||=>|->>|->)/.exec(rest))) {
      tokens.push({ kind: 'punct', text: m[0] });
    } else {
      tokens.push({ kind: 'punct', text: c });
    }
    i += tokens[tokens.length - 1].text.length;
  }
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

function readString(sql: string, start: number): { text: string; value: string } {
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= sql.length) throw new TranslationError('SQL compilation error: unterminated string literal');
    const c = sql[i];
    if (c === '\\') {
      const next = sql[i + 1];
      value += ESCAPES[next] ?? next;
      i += 2;
    } else if (c === "'") {
      if (sql[i + 1] === "'") {
        value += "'";
        i += 2;
      } else {
        i++;
        break;
      }
    } else {
      value += c;
      i++;
    }
  }
  return { text: sql.slice(start, i), value };
}

function duckString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function bindLiteral(bind: Bind | undefined, index: number): string {
  if (!bind) throw new TranslationError(`SQL compilation error: Bind variable ${index + 1} not set.`, '002049', '42601');
  const { type, value } = bind;
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) throw new TranslationError('array binds are not supported by the local endpoint', '000002', '0A000');
  const text = String(value);
  switch (type.toUpperCase()) {
    case 'FIXED':
    case 'REAL':
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return `CAST(${duckString(text)} AS DOUBLE)`;
      return /[.eE]/.test(text) ? `CAST(${text} AS DOUBLE)` : text;
    case 'BOOLEAN':
      return /^(true|1)$/i.test(text) ? 'TRUE' : 'FALSE';
    default:
      // Snowflake types a TEXT bind as VARCHAR; so does a DuckDB string literal.
      return duckString(text);
  }
}

const significant = (t: Token) => t.kind !== 'ws' && t.kind !== 'comment';

/** Snowflake statement text -> DuckDB statements. */
export function translate(sqlText: string, binds: Record<string, Bind> | undefined, session: SessionValues): Translated {
  let tokens = tokenize(sqlText.replace(/[\s;]+$/, ''));
  let nextQuestion = 0;
  tokens = tokens.map((t) => {
    if (t.kind === 'string') return { kind: 'string', text: duckString(t.value as string) };
    if (t.kind !== 'bind') return t;
    const index = t.value === -1 ? nextQuestion++ : (t.value as number);
    return { kind: 'string', text: bindLiteral(binds?.[String(index + 1)], index) };
  });
  const words = tokens.filter(significant).map((t) => (t.kind === 'word' ? t.text : ''));
  const head = words.slice(0, 4).join(' ');

  if (/^(BEGIN|START TRANSACTION)/.test(head)) return { kind: 'begin', sql: [] };
  if (/^COMMIT/.test(head)) return { kind: 'commit', sql: [] };
  if (/^ROLLBACK/.test(head)) return { kind: 'rollback', sql: [] };
  if (/^USE /.test(head) || /^ALTER SESSION/.test(head)) {
    const sig = tokens.filter(significant);
    const tagAt = sig.findIndex((t) => t.text === 'QUERY_TAG');
    let queryTag: string | null | undefined;
    if (tagAt >= 0) queryTag = words.includes('UNSET') ? null : unquoteDuck(sig[tagAt + 2]?.text ?? "''");
    return { kind: 'session', sql: [], queryTag };
  }

  tokens = rewriteFunctions(tokens, session);
  tokens = rewriteTypes(tokens);

  if (/^ALTER (TABLE|VIEW)/.test(head)) {
    const sig = tokens.filter(significant);
    const swapAt = sig.findIndex((t, k) => t.text === 'SWAP' && sig[k + 1]?.text === 'WITH');
    if (swapAt >= 0) return { kind: 'swap', sql: swapStatements(sig.slice(2, swapAt), sig.slice(swapAt + 2)) };
    const renameAt = sig.findIndex((t, k) => t.text === 'RENAME' && sig[k + 1]?.text === 'TO');
    if (renameAt >= 0) {
      const from = sig.slice(2, renameAt);
      const to = sig.slice(renameAt + 2);
      const target = to.length === 3 && to[1].text === '.' ? to[2] : to[0];
      return { kind: 'ddl', sql: [`ALTER ${sig[1].text} ${from.map((t) => t.text).join('')} RENAME TO ${target.text}`] };
    }
  }

  let kind: StatementKind = 'select';
  if (/^(CREATE|DROP|ALTER|TRUNCATE|COMMENT|GRANT|REVOKE)/.test(head)) kind = 'ddl';
  else if (head.startsWith('INSERT')) kind = 'insert';
  else if (head.startsWith('UPDATE')) kind = 'update';
  else if (head.startsWith('DELETE')) kind = 'delete';
  else if (head.startsWith('MERGE')) kind = 'merge';
  if (kind === 'ddl') tokens = tokens.filter((t) => !(t.kind === 'word' && t.text === 'TRANSIENT'));
  return { kind, sql: [tokens.map((t) => t.text).join('')] };
}

function unquoteDuck(text: string): string {
  return text.startsWith("'") ? text.slice(1, -1).replace(/''/g, "'") : text;
}

/** `a SWAP WITH b` as three renames; the caller runs them in one DuckDB transaction. */
function swapStatements(a: Token[], b: Token[]): string[] {
  const name = (rel: Token[]) => rel[rel.length - 1].text;
  const schema = (rel: Token[]) => (rel.length === 3 ? `${rel[0].text}.` : '');
  const tmp = `"__swap_${Math.random().toString(36).slice(2)}"`;
  return [
    `ALTER TABLE ${schema(a)}${name(a)} RENAME TO ${tmp}`,
    `ALTER TABLE ${schema(b)}${name(b)} RENAME TO ${name(a)}`,
    `ALTER TABLE ${schema(a)}${tmp} RENAME TO ${name(b)}`,
  ];
}

function nextSignificant(tokens: Token[], from: number): number {
  let i = from;
  while (i < tokens.length && !significant(tokens[i])) i++;
  return i;
}

function prevSignificant(tokens: Token[], from: number): number {
  let i = from;
  while (i >= 0 && !significant(tokens[i])) i--;
  return i;
}

/** Index of the `)` matching the `(` at `open`. */
function matchingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].text === '(') depth++;
    else if (tokens[i].text === ')' && --depth === 0) return i;
  }
  throw new TranslationError('SQL compilation error: unbalanced parentheses');
}

function rewriteFunctions(input: Token[], session: SessionValues): Token[] {
  const tokens = [...input];
  const sessionValues: Record<string, string | null> = {
    CURRENT_DATABASE: session.database,
    CURRENT_SCHEMA: session.schema,
    CURRENT_WAREHOUSE: session.warehouse,
    CURRENT_ROLE: session.role,
    CURRENT_USER: session.user,
    CURRENT_ACCOUNT: session.account,
    CURRENT_VERSION: '9.99.0',
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'word') continue;
    const open = nextSignificant(tokens, i + 1);
    if (tokens[open]?.text !== '(') continue;
    if (t.text in sessionValues) {
      const close = matchingParen(tokens, open);
      const v = sessionValues[t.text];
      tokens.splice(i, close - i + 1, { kind: 'string', text: v === null ? 'CAST(NULL AS VARCHAR)' : duckString(v) });
    } else if (t.text === 'DATEADD') {
      const unit = nextSignificant(tokens, open + 1);
      tokens[i] = { kind: 'word', text: 'SF_DATEADD' };
      if (tokens[unit]?.kind === 'word') tokens[unit] = { kind: 'string', text: duckString(tokens[unit].text) };
    } else if (t.text === 'ARRAY_AGG') {
      const close = matchingParen(tokens, open);
      const args = tokens.slice(open + 1, close);
      const firstArg = nextSignificant(args, 0);
      const value = args[firstArg]?.text === 'DISTINCT' ? args.slice(firstArg + 1) : args;
      let end = close;
      let order: Token[] = [];
      const within = nextSignificant(tokens, close + 1);
      if (tokens[within]?.text === 'WITHIN') {
        const group = nextSignificant(tokens, within + 1);
        const paren = nextSignificant(tokens, group + 1);
        const closeGroup = matchingParen(tokens, paren);
        order = tokens.slice(paren + 1, closeGroup);
        end = closeGroup;
      }
      const text =
        `ARRAY_AGG(${args.map((a) => a.text).join('')}${order.length ? ` ${order.map((a) => a.text).join('')}` : ''})` +
        ` FILTER (WHERE (${value.map((a) => a.text).join('')}) IS NOT NULL)`;
      tokens.splice(i, end - i + 1, { kind: 'punct', text });
    } else if (RENAMED_FUNCTIONS[t.text]) {
      tokens[i] = { kind: 'word', text: RENAMED_FUNCTIONS[t.text] };
    }
  }
  return tokens;
}

function rewriteTypes(input: Token[]): Token[] {
  const tokens = [...input];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'word' || !(t.text in TYPE_NAMES || KEPT_TYPES.has(t.text))) continue;
    const prev = tokens[prevSignificant(tokens, i - 1)];
    if (!prev || !(prev.text === '::' || prev.text === 'AS' || prev.kind === 'qident')) continue;
    const mapped = TYPE_NAMES[t.text] ?? t.text;
    const next = tokens[nextSignificant(tokens, i + 1)];
    const bareNumber = mapped === 'DECIMAL' && next?.text !== '(';
    tokens[i] = { kind: 'word', text: bareNumber ? 'DECIMAL(38, 0)' : mapped };
  }
  return tokens;
}
