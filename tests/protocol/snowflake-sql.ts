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
 * - Stages (the user stage `@~[/path]` and table stages `@%table[/path]`; named stages answer
 *   "does not exist"): `PUT file://<path> @stage [OPTION = value ...]` (parsed from the text,
 *   quoted or not), `REMOVE @stage/<prefix>`, and `COPY INTO t [(cols)] FROM @stage` or
 *   `FROM (SELECT <expressions over $1, $2, ...> FROM @stage)` with FILE_FORMAT = (TYPE = CSV,
 *   FIELD_DELIMITER, SKIP_HEADER, FIELD_OPTIONALLY_ENCLOSED_BY, NULL_IF = (...), COMPRESSION,
 *   EMPTY_FIELD_AS_NULL = TRUE, ESCAPE[_UNENCLOSED_FIELD] = NONE, RECORD_DELIMITER = '\n';
 *   ENCODING, DATE_FORMAT, TIMESTAMP_FORMAT, BINARY_FORMAT accepted for ISO text), ON_ERROR =
 *   ABORT_STATEMENT and PURGE. Anything else in COPY INTO is rejected rather than ignored.
 * Not supported: IDENTIFIER(), FLATTEN/LATERAL, QUALIFY, named stages and file formats, GET,
 * LIST, SHOW, DESCRIBE, `$1` column references outside COPY INTO, multi-statement requests.
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

export type StatementKind =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | 'ddl'
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'session'
  | 'swap'
  | 'put'
  | 'remove'
  | 'copy';

/** `@~/path` (the user's stage) or `@%table/path` (a table's stage). */
export interface StageRef {
  area: 'user' | 'table';
  /** The table of a table stage (stored name); '' for the user stage. */
  table: string;
  /** Path prefix inside the stage, without a leading slash. */
  path: string;
}

/** The CSV options of COPY INTO's FILE_FORMAT that the endpoint honours. */
export interface CsvFormat {
  delimiter: string;
  skipHeader: number;
  enclosedBy: string | null;
  nullIf: string[];
  compression: 'auto' | 'gzip' | 'none';
}

export interface CopyPlan {
  /** DuckDB text of the target table and its column list (may be empty: all columns). */
  target: string;
  columns: string[];
  /** DuckDB expressions over the file's columns "$1", "$2", ...; null loads the columns as they are. */
  expressions: string[] | null;
  /** How many columns each record must have. */
  fileColumns: number;
  stage: StageRef;
  format: CsvFormat;
  purge: boolean;
}

export interface Translated {
  kind: StatementKind;
  /** DuckDB statements to run in order (SWAP WITH needs three renames). */
  sql: string[];
  /** For `session` statements: ALTER SESSION SET QUERY_TAG = '...' records the tag. */
  queryTag?: string | null;
  /** For PUT: the local file (its path, from `file://...`), the stage and the options, upper-cased keys. */
  put?: { source: string; stage: StageRef; options: Record<string, string> };
  /** For REMOVE. */
  stage?: StageRef;
  copy?: CopyPlan;
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

type TokenKind = 'ws' | 'comment' | 'string' | 'qident' | 'word' | 'number' | 'bind' | 'punct' | 'stage' | 'colref';

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
    } else if ((m = /^@[^\s;()]*/.exec(rest))) {
      tokens.push({ kind: 'stage', text: m[0] });
    } else if ((m = /^\$(\d+)/.exec(rest))) {
      // A staged file's column in COPY INTO ... FROM (SELECT $1, ... FROM @stage).
      tokens.push({ kind: 'colref', text: m[0], value: Number(m[1]) });
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
  // A file URI is not SQL (`//` would read as a comment), so PUT is parsed from the text.
  if (/^\s*PUT\s/i.test(sqlText)) return translatePut(sqlText.replace(/[\s;]+$/, ''));
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

  if (/^(REMOVE|RM) /.test(`${head} `)) {
    const stage = tokens.find((t) => t.kind === 'stage');
    if (!stage) throw new TranslationError('SQL compilation error: REMOVE needs a stage');
    return { kind: 'remove', sql: [], stage: stageRef(stage.text) };
  }
  if (/^COPY INTO/.test(head)) return { kind: 'copy', sql: [], copy: copyPlan(tokens.filter(significant)) };

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

const QUOTED = String.raw`'(?:[^'\\]|\\.|'')*'`;

/** `PUT file://<path> @stage[/path] [OPTION = value ...]` */
function translatePut(text: string): Translated {
  const m = new RegExp(String.raw`^\s*PUT\s+(${QUOTED}|\S+)\s+(${QUOTED}|\S+)([\s\S]*)$`, 'i').exec(text);
  if (!m) throw new TranslationError('SQL compilation error: syntax error in PUT');
  const unquote = (s: string) => (s.startsWith("'") ? readString(s, 0).value : s);
  const uri = unquote(m[1]);
  if (!/^file:\/\//i.test(uri)) throw new TranslationError(`SQL compilation error: PUT needs a file:// source, got ${uri}`);
  const options: Record<string, string> = {};
  for (const o of m[3].matchAll(new RegExp(String.raw`(\w+)\s*=\s*(${QUOTED}|[^\s]+)`, 'g'))) options[o[1].toUpperCase()] = unquote(o[2]);
  return { kind: 'put', sql: [], put: { source: uri.slice('file://'.length), stage: stageRef(unquote(m[2])), options } };
}

function stageRef(text: string): StageRef {
  const m = /^@(~|%("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))(?:\/(.*))?$/.exec(text);
  if (!m) {
    const name = text.slice(1).split('/')[0];
    throw new TranslationError(`SQL compilation error:\nStage '${name.toUpperCase()}' does not exist or not authorized.`, '002003', '02000');
  }
  const table = m[1] === '~' ? '' : m[2].startsWith('"') ? m[2].slice(1, -1).replace(/""/g, '"') : m[2].toUpperCase();
  return { area: m[1] === '~' ? 'user' : 'table', table, path: (m[3] ?? '').replace(/^\/+/, '') };
}

/**
 * `COPY INTO t [(cols)] FROM @stage | (SELECT exprs FROM @stage) [FILE_FORMAT = (...)]
 * [ON_ERROR = ABORT_STATEMENT] [PURGE = TRUE|FALSE]`, with the tokens already translated.
 */
function copyPlan(sig: Token[]): CopyPlan {
  let i = 2;
  const target: Token[] = [];
  while (i < sig.length && sig[i].text !== '(' && sig[i].text !== 'FROM') target.push(sig[i++]);
  const columns: string[] = [];
  if (sig[i]?.text === '(') {
    const close = matchingParen(sig, i);
    for (const t of sig.slice(i + 1, close)) if (t.text !== ',') columns.push(t.text);
    i = close + 1;
  }
  if (sig[i]?.text !== 'FROM') throw new TranslationError('SQL compilation error: COPY INTO needs FROM');
  i++;
  let stageToken: Token | undefined;
  let expressions: string[] | null = null;
  let fileColumns = columns.length;
  if (sig[i]?.text === '(') {
    const close = matchingParen(sig, i);
    const inner = sig.slice(i + 1, close);
    if (inner[0]?.text !== 'SELECT') throw new TranslationError('SQL compilation error: COPY INTO ... FROM ( needs SELECT');
    const from = inner.findIndex((t) => t.text === 'FROM');
    stageToken = inner[from + 1];
    const parts: Token[][] = [[]];
    let depth = 0;
    for (const t of inner.slice(1, from)) {
      if (t.text === '(') depth++;
      if (t.text === ')') depth--;
      if (t.text === ',' && depth === 0) parts.push([]);
      else parts[parts.length - 1].push(t);
    }
    expressions = parts.map((p) => p.map((t) => (t.kind === 'colref' ? `"$${t.value}"` : t.text)).join(' '));
    fileColumns = Math.max(0, ...inner.filter((t) => t.kind === 'colref').map((t) => t.value as number));
    i = close + 1;
  } else {
    stageToken = sig[i++];
  }
  if (stageToken?.kind !== 'stage') throw new TranslationError('SQL compilation error: COPY INTO needs a stage (@~ or @%table) to load from');
  const format: CsvFormat = { delimiter: ',', skipHeader: 0, enclosedBy: null, nullIf: ['\\N'], compression: 'auto' };
  let purge = false;
  const value = (t: Token | undefined) => (t?.kind === 'string' ? unquoteDuck(t.text) : (t?.text ?? ''));
  while (i < sig.length) {
    const key = sig[i].text;
    if (sig[i + 1]?.text !== '=') throw new TranslationError(`SQL compilation error: unexpected '${key}' in COPY INTO`);
    if (key === 'FILE_FORMAT') {
      if (sig[i + 2]?.text !== '(') throw new TranslationError('SQL compilation error: named file formats are not supported by the local endpoint');
      const close = matchingParen(sig, i + 2);
      const opts = sig.slice(i + 3, close);
      for (let k = 0; k < opts.length; ) {
        const name = opts[k].text;
        if (opts[k + 1]?.text !== '=') throw new TranslationError(`SQL compilation error: unexpected '${name}' in FILE_FORMAT`);
        if (opts[k + 2]?.text === '(') {
          const end = matchingParen(opts, k + 2);
          const list = opts.slice(k + 3, end).filter((t) => t.text !== ',').map(value);
          if (name !== 'NULL_IF') throw new TranslationError(`SQL compilation error: FILE_FORMAT option ${name} is not supported by the local endpoint`);
          format.nullIf = list;
          k = end + 1;
          continue;
        }
        const v = value(opts[k + 2]);
        switch (name) {
          case 'TYPE':
            if (v.toUpperCase() !== 'CSV') throw new TranslationError(`SQL compilation error: FILE_FORMAT TYPE ${v} is not supported by the local endpoint`);
            break;
          case 'FIELD_DELIMITER':
            format.delimiter = v;
            break;
          case 'SKIP_HEADER':
            format.skipHeader = Number(v);
            break;
          case 'FIELD_OPTIONALLY_ENCLOSED_BY':
            format.enclosedBy = v.toUpperCase() === 'NONE' ? null : v;
            break;
          case 'COMPRESSION':
            format.compression = v.toUpperCase() === 'GZIP' ? 'gzip' : v.toUpperCase() === 'NONE' ? 'none' : 'auto';
            break;
          case 'EMPTY_FIELD_AS_NULL':
            if (v.toUpperCase() !== 'TRUE') throw new TranslationError('SQL compilation error: EMPTY_FIELD_AS_NULL = FALSE is not supported by the local endpoint');
            break;
          case 'ESCAPE_UNENCLOSED_FIELD':
          case 'ESCAPE':
            if (v.toUpperCase() !== 'NONE') throw new TranslationError(`SQL compilation error: ${name} other than NONE is not supported by the local endpoint`);
            break;
          case 'RECORD_DELIMITER':
            if (v !== '\n') throw new TranslationError('SQL compilation error: only RECORD_DELIMITER = \'\\n\' is supported by the local endpoint');
            break;
          case 'ENCODING':
          case 'DATE_FORMAT':
          case 'TIMESTAMP_FORMAT':
          case 'BINARY_FORMAT':
          case 'ERROR_ON_COLUMN_COUNT_MISMATCH':
            // Values are written in DuckDB's default text forms, which are also these formats'.
            break;
          default:
            throw new TranslationError(`SQL compilation error: FILE_FORMAT option ${name} is not supported by the local endpoint`);
        }
        k += 3;
      }
      i = close + 1;
    } else if (key === 'ON_ERROR') {
      if (value(sig[i + 2]).toUpperCase() !== 'ABORT_STATEMENT') throw new TranslationError('SQL compilation error: only ON_ERROR = ABORT_STATEMENT is supported by the local endpoint');
      i += 3;
    } else if (key === 'PURGE') {
      purge = value(sig[i + 2]).toUpperCase() === 'TRUE';
      i += 3;
    } else {
      throw new TranslationError(`SQL compilation error: COPY option ${key} is not supported by the local endpoint`);
    }
  }
  return { target: target.map((t) => t.text).join(''), columns, expressions, fileColumns, stage: stageRef(stageToken.text), format, purge };
}
