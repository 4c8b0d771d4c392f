/**
 * BigQuery Standard SQL -> DuckDB SQL for the documented subset served by bigquery-server.ts
 * (the subset itself is listed in that file's header). Works on tokens, so string literals,
 * quoted identifiers and comments are never rewritten by accident, and function rewrites see
 * whole, parenthesis-matched argument lists.
 */

export interface TypedParameter {
  parameterType: { type: string; arrayType?: TypedParameter['parameterType'] };
  parameterValue: { value?: string | null; arrayValues?: TypedParameter['parameterValue'][] };
  name?: string;
}

type TokenKind = 'ws' | 'string' | 'bytes' | 'ident' | 'word' | 'number' | 'param' | 'punct';

interface Token {
  kind: TokenKind;
  text: string;
  /** Decoded text of a string literal; the parts of a backtick identifier, split on dots. */
  value?: string;
  parts?: string[];
}

export class SqlSubsetError extends Error {}

export interface Statement {
  /** BEGIN / COMMIT / ROLLBACK for transaction control, else 'sql'. */
  kind: 'begin' | 'commit' | 'rollback' | 'sql';
  sql: string;
  /** True when it returns rows (SELECT, WITH, ...). */
  returnsRows: boolean;
  /** `[dataset, table]` pairs the statement names, for dry-run byte estimates. */
  tables: [string, string][];
  /** The leading keyword(s), e.g. CREATE, INSERT, MERGE. */
  verb: string;
}

const TYPE_NAMES: Record<string, string> = {
  INT64: 'BIGINT',
  INTEGER: 'BIGINT',
  FLOAT64: 'DOUBLE',
  BOOL: 'BOOLEAN',
  STRING: 'VARCHAR',
  NUMERIC: 'DECIMAL(38, 9)',
  BIGNUMERIC: 'DECIMAL(38, 9)',
  BYTES: 'BLOB',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATETIME: 'TIMESTAMP',
};

/** BigQuery functions renamed onto DuckDB built-ins or the macros of MACROS. */
const FUNCTIONS: Record<string, string> = {
  SHA256: 'bq_sha256',
  TO_HEX: 'bq_to_hex',
  REGEXP_CONTAINS: 'regexp_matches',
  REGEXP_REPLACE: 'bq_regexp_replace',
  GENERATE_UUID: 'bq_generate_uuid',
  TIMESTAMP_SUB: 'bq_minus',
  DATETIME_SUB: 'bq_minus',
  DATE_SUB: 'bq_date_sub',
  TIMESTAMP_ADD: 'bq_plus',
  DATETIME_ADD: 'bq_plus',
  TIMESTAMP: 'bq_timestamp',
  DATETIME: 'bq_datetime',
  DATE: 'bq_date',
  PARSE_JSON: 'bq_parse_json',
  TO_JSON_STRING: 'bq_to_json_string',
  GENERATE_ARRAY: 'generate_series',
  COUNTIF: 'count_if',
  SAFE_CAST: 'TRY_CAST',
};

/** Created once per DuckDB database by the server. */
export const MACROS = [
  `CREATE MACRO bq_sha256(x) AS unhex(sha256(x))`,
  `CREATE MACRO bq_to_hex(b) AS lower(hex(b))`,
  `CREATE MACRO bq_regexp_replace(s, p, r) AS regexp_replace(s, p, r, 'g')`,
  `CREATE MACRO bq_generate_uuid() AS CAST(gen_random_uuid() AS VARCHAR)`,
  `CREATE MACRO bq_minus(t, i) AS t - i`,
  `CREATE MACRO bq_plus(t, i) AS t + i`,
  `CREATE MACRO bq_date_sub(d, i) AS CAST(d - i AS DATE)`,
  `CREATE MACRO bq_timestamp(x) AS CAST(x AS TIMESTAMPTZ)`,
  `CREATE MACRO bq_datetime(x) AS CAST(x AS TIMESTAMP)`,
  `CREATE MACRO bq_date(x) AS CAST(x AS DATE)`,
  `CREATE MACRO bq_parse_json(x) AS json(x)`,
  `CREATE MACRO bq_to_json_string(x) AS CAST(to_json(x) AS VARCHAR)`,
];

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const rest = sql.slice(i, i + 3);
    if (/\s/.test(ch)) {
      let j = i;
      while (j < sql.length && /\s/.test(sql[j])) j++;
      tokens.push({ kind: 'ws', text: sql.slice(i, j) });
      i = j;
    } else if (rest.startsWith('--') || ch === '#') {
      const end = sql.indexOf('\n', i);
      tokens.push({ kind: 'ws', text: ' ' });
      i = end < 0 ? sql.length : end;
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      tokens.push({ kind: 'ws', text: ' ' });
      i = end < 0 ? sql.length : end + 2;
    } else if (ch === '`') {
      let j = i + 1;
      let text = '';
      while (j < sql.length && sql[j] !== '`') {
        if (sql[j] === '\\') {
          text += sql[j + 1];
          j += 2;
        } else text += sql[j++];
      }
      if (j >= sql.length) throw new SqlSubsetError('Unclosed identifier literal');
      // `p.d.t` names three parts; a dot inside a part cannot be expressed this way.
      tokens.push({ kind: 'ident', text: sql.slice(i, j + 1), parts: text.split('.') });
      i = j + 1;
    } else if (/[rRbB]/.test(ch) && /^[rRbB]{1,2}['"]/.test(sql.slice(i, i + 3)) && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const prefix = /^[rRbB]{1,2}/.exec(sql.slice(i))![0];
      const lit = readString(sql, i + prefix.length, /[rR]/.test(prefix));
      tokens.push({ kind: /[bB]/.test(prefix) ? 'bytes' : 'string', text: sql.slice(i, lit.end), value: lit.value });
      i = lit.end;
    } else if (ch === "'" || ch === '"') {
      const lit = readString(sql, i, false);
      tokens.push({ kind: 'string', text: sql.slice(i, lit.end), value: lit.value });
      i = lit.end;
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j) });
      i = j;
    } else if (/\d/.test(ch) || (ch === '.' && /\d/.test(sql[i + 1] ?? ''))) {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(sql.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (ch === '?') {
      tokens.push({ kind: 'param', text: '?' });
      i++;
    } else if (ch === '@' && sql[i + 1] !== '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j++;
      tokens.push({ kind: 'param', text: sql.slice(i, j), value: sql.slice(i + 1, j) });
      i = j;
    } else {
      const two = sql.slice(i, i + 2);
      const op = ['<=', '>=', '<>', '!=', '||', '<<', '>>'].includes(two) ? two : ch;
      tokens.push({ kind: 'punct', text: op });
      i += op.length;
    }
  }
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', a: '\x07', '\\': '\\', "'": "'", '"': '"', '`': '`', '?': '?' };

function readString(sql: string, start: number, raw: boolean): { value: string; end: number } {
  const quote = sql[start];
  const closer = sql.startsWith(quote.repeat(3), start) ? quote.repeat(3) : quote;
  let j = start + closer.length;
  let value = '';
  while (j < sql.length) {
    if (sql.startsWith(closer, j)) return { value, end: j + closer.length };
    const c = sql[j];
    if (c === '\\') {
      const e = sql[j + 1];
      if (raw) value += c + e;
      else if (e in ESCAPES) value += ESCAPES[e];
      else throw new SqlSubsetError(`Illegal escape sequence: \\${e}`);
      j += 2;
      continue;
    }
    if (closer.length === 1 && c === '\n') throw new SqlSubsetError('Unclosed string literal');
    value += c;
    j++;
  }
  throw new SqlSubsetError('Unclosed string literal');
}

/** Splits a script on top-level semicolons and translates each statement. */
export function translateScript(sql: string, params: TypedParameter[], project: string): Statement[] {
  const tokens = tokenize(sql);
  const bind = new Binder(params);
  const statements: Statement[] = [];
  let start = 0;
  let depth = 0;
  for (let i = 0; i <= tokens.length; i++) {
    const t = tokens[i];
    if (t?.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
    if (t?.kind === 'punct' && (t.text === ')' || t.text === ']')) depth--;
    if (i === tokens.length || (t.kind === 'punct' && t.text === ';' && depth === 0)) {
      const part = tokens.slice(start, i);
      if (part.some((p) => p.kind !== 'ws')) statements.push(translateStatement(part, bind, project));
      start = i + 1;
    }
  }
  bind.checkAllUsed();
  return statements;
}

class Binder {
  private next = 0;
  private readonly used = new Set<number>();

  constructor(private readonly params: TypedParameter[]) {}

  literal(token: Token): string {
    let index: number;
    if (token.text === '?') {
      index = this.next++;
      if (index >= this.params.length) throw new SqlSubsetError(`Query has more positional parameters than the ${this.params.length} given`);
    } else {
      index = this.params.findIndex((p) => p.name === token.value);
      if (index < 0) throw new SqlSubsetError(`Query parameter '${token.value}' not found`);
    }
    this.used.add(index);
    const p = this.params[index];
    return literalOf(p.parameterType, p.parameterValue);
  }

  checkAllUsed(): void {
    if (this.params.some((p) => p.name === undefined) && this.next !== this.params.length) {
      throw new SqlSubsetError(`Query has ${this.next} positional parameters but ${this.params.length} were given`);
    }
  }
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function duckType(type: TypedParameter['parameterType']): string {
  if (type.type === 'ARRAY') return `${duckType(type.arrayType!)}[]`;
  return TYPE_NAMES[type.type] ?? type.type;
}

function literalOf(type: TypedParameter['parameterType'], value: TypedParameter['parameterValue']): string {
  if (type.type === 'ARRAY') {
    if (!value.arrayValues) return `CAST(NULL AS ${duckType(type)})`;
    return `CAST([${value.arrayValues.map((v) => literalOf(type.arrayType!, v)).join(', ')}] AS ${duckType(type)})`;
  }
  if (value.value === undefined || value.value === null) return `CAST(NULL AS ${duckType(type)})`;
  const v = value.value;
  switch (type.type) {
    case 'BOOL':
      if (!/^(true|false)$/i.test(v)) throw new SqlSubsetError(`Invalid BOOL parameter value: ${v}`);
      return v.toUpperCase();
    case 'INT64':
      if (!/^[+-]?\d+$/.test(v)) throw new SqlSubsetError(`Invalid INT64 parameter value: ${v}`);
      return `CAST(${v} AS BIGINT)`;
    case 'BYTES':
      return `from_base64(${quoteLiteral(v)})`;
    default:
      return `CAST(${quoteLiteral(v)} AS ${duckType(type)})`;
  }
}

function significant(tokens: Token[], from: number, step: 1 | -1): number {
  let i = from;
  while (i >= 0 && i < tokens.length && tokens[i].kind === 'ws') i += step;
  return i;
}

function isWord(t: Token | undefined, ...words: string[]): boolean {
  return t?.kind === 'word' && words.includes(t.text.toUpperCase());
}

function isPunct(t: Token | undefined, text: string): boolean {
  return t?.kind === 'punct' && t.text === text;
}

/** Index of the `)` matching the `(` at `open`. */
function closing(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++;
    if (isPunct(tokens[i], ')') && --depth === 0) return i;
  }
  throw new SqlSubsetError('Unbalanced parentheses');
}

/** Splits tokens on top-level commas. */
function splitArgs(tokens: Token[]): Token[][] {
  const out: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (isPunct(t, '(') || isPunct(t, '[')) depth++;
    if (isPunct(t, ')') || isPunct(t, ']')) depth--;
    if (depth === 0 && isPunct(t, ',')) out.push([]);
    else out[out.length - 1].push(t);
  }
  return out;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function translateStatement(tokens: Token[], bind: Binder, project: string): Statement {
  const first = significant(tokens, 0, 1);
  const verb = tokens[first].text.toUpperCase();
  const second = tokens[significant(tokens, first + 1, 1)];
  if (verb === 'BEGIN') return { kind: 'begin', sql: 'BEGIN TRANSACTION', returnsRows: false, tables: [], verb };
  if (verb === 'COMMIT') return { kind: 'commit', sql: 'COMMIT', returnsRows: false, tables: [], verb };
  if (verb === 'ROLLBACK') return { kind: 'rollback', sql: 'ROLLBACK', returnsRows: false, tables: [], verb };
  if (verb === 'ALTER' && isWord(second, 'VIEW') && tokens.some((t) => isWord(t, 'RENAME'))) {
    // BigQuery can rename tables but not views.
    throw new SqlSubsetError('ALTER VIEW ... RENAME TO is not supported');
  }
  const tables: [string, string][] = [];
  let sql = emit(tokens, bind, project, tables);
  if (verb === 'MERGE' && !isWord(second, 'INTO')) sql = sql.replace(/^\s*MERGE/i, 'MERGE INTO');
  const returnsRows = ['SELECT', 'WITH', '(', 'VALUES', 'FROM', 'TABLE'].includes(verb);
  return { kind: 'sql', sql, returnsRows, tables, verb };
}

function emit(tokens: Token[], bind: Binder, project: string, tables: [string, string][]): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const nextIdx = significant(tokens, i + 1, 1);
    const next = tokens[nextIdx];
    const prev = tokens[significant(tokens, i - 1, -1)];
    switch (t.kind) {
      case 'ws':
        out += t.text;
        break;
      case 'string':
        out += quoteLiteral(t.value!);
        break;
      case 'bytes':
        out += `CAST(${quoteLiteral(t.value!)} AS BLOB)`;
        break;
      case 'param':
        out += bind.literal(t);
        break;
      case 'ident': {
        // A path `a.b.c` (in one or several backtick pairs) names project.dataset.table; the project is dropped.
        const chain: string[] = [...t.parts!];
        let j = i;
        while (isPunct(tokens[j + 1], '.') && (tokens[j + 2]?.kind === 'ident' || tokens[j + 2]?.kind === 'word')) {
          const part = tokens[j + 2];
          chain.push(...(part.kind === 'ident' ? part.parts! : [part.text]));
          j += 2;
        }
        if (chain.length === 3 && chain[0] === project) chain.shift();
        if (chain.length === 3) throw new SqlSubsetError(`Not found: Project ${chain[0]}`);
        if (chain.length === 2) tables.push([chain[0], chain[1]]);
        out += chain.map(quoteIdent).join('.');
        i = j;
        break;
      }
      case 'word': {
        const upper = t.text.toUpperCase();
        const qualified = isPunct(prev, '.') || isPunct(tokens[i + 1], '.');
        if (qualified) {
          if (tokens[i + 1]?.kind === 'punct' && tokens[i + 1].text === '.' && tokens[i + 2]?.kind === 'word' && !isPunct(prev, '.')) {
            tables.push([t.text, tokens[i + 2].text]);
          }
          out += t.text;
          break;
        }
        if (isPunct(next, '(')) {
          const close = closing(tokens, nextIdx);
          const inner = tokens.slice(nextIdx + 1, close);
          if (upper === 'CURRENT_TIMESTAMP' || upper === 'CURRENT_DATE') {
            if (inner.some((x) => x.kind !== 'ws')) throw new SqlSubsetError(`${upper} with a time zone is not supported`);
            out += upper;
            i = close;
            break;
          }
          if (upper === 'STRUCT') {
            out += `struct_pack(${structFields(inner, bind, project, tables)})`;
            i = close;
            break;
          }
          if (upper === 'ARRAY_AGG' && inner.some((x, k) => isWord(x, 'IGNORE') && isWord(inner[significant(inner, k + 1, 1)], 'NULLS'))) {
            const kept = inner.filter((x, k) => !isWord(x, 'IGNORE') && !(isWord(x, 'NULLS') && isWord(inner[significant(inner, k - 1, -1)], 'IGNORE')));
            out += `list_filter(array_agg(${emit(kept, bind, project, tables)}), lambda bq_v: bq_v IS NOT NULL)`;
            i = close;
            break;
          }
          if (upper === 'OPTIONS') {
            // Dataset/table options (location, labels, descriptions) have no DuckDB counterpart.
            i = close;
            break;
          }
          if (upper === 'UNNEST' && isWord(prev, 'IN')) {
            out += `(SELECT UNNEST(${emit(inner, bind, project, tables)}))`;
            i = close;
            break;
          }
          if (upper === 'UNNEST' && isWord(prev, 'FROM', 'JOIN')) {
            out += `UNNEST(${emit(inner, bind, project, tables)})`;
            i = close;
            const as = significant(tokens, close + 1, 1);
            const alias = isWord(tokens[as], 'AS') ? significant(tokens, as + 1, 1) : -1;
            const aliasTok = tokens[alias];
            if (aliasTok && (aliasTok.kind === 'word' || aliasTok.kind === 'ident') && !isPunct(tokens[significant(tokens, alias + 1, 1)], '(')) {
              // BigQuery names the column after the alias; DuckDB names the table.
              const name = aliasTok.kind === 'ident' ? aliasTok.parts!.join('.') : aliasTok.text;
              out += ` AS ${quoteIdent(name)}(${quoteIdent(name)})`;
              i = alias;
            }
            break;
          }
          out += FUNCTIONS[upper] ?? t.text;
          break;
        }
        // Type names in CAST, DDL and typed literals (`TIMESTAMP '...'`); a column named like a type is renamed too.
        if (upper in TYPE_NAMES) {
          out += TYPE_NAMES[upper];
          break;
        }
        if (upper === 'EXCEPT' && isPunct(prev, '*')) {
          out += 'EXCLUDE';
          break;
        }
        out += t.text;
        break;
      }
      default:
        out += t.text;
    }
  }
  return out;
}

/** `STRUCT(a AS x, b AS y)` -> `x := a, y := b`. */
function structFields(inner: Token[], bind: Binder, project: string, tables: [string, string][]): string {
  return splitArgs(inner)
    .map((arg, n) => {
      const last = significant(arg, arg.length - 1, -1);
      const asIdx = significant(arg, last - 1, -1);
      if (last >= 0 && isWord(arg[asIdx], 'AS') && (arg[last].kind === 'ident' || arg[last].kind === 'word')) {
        const name = arg[last].kind === 'ident' ? arg[last].parts!.join('.') : arg[last].text;
        return `${quoteIdent(name)} := ${emit(arg.slice(0, asIdx), bind, project, tables)}`;
      }
      return `${quoteIdent(`_field_${n + 1}`)} := ${emit(arg, bind, project, tables)}`;
    })
    .join(', ');
}
