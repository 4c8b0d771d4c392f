/**
 * Handlebars templates for SQL: parsing with located errors, static extraction of
 * ref/source/config from the AST (no rendering needed to build the DAG), and rendering.
 *
 * Rendering has a fast path: templates made only of text and simple helper calls with
 * literal arguments (the vast majority of models) are read by a scanner of their own
 * (template-scan.ts) without Handlebars' parser, and interpreted from what it found, which is
 * far cheaper than Handlebars' compile-to-JS step. Everything else goes through Handlebars
 * itself, so behaviour is identical either way (a test checks this).
 */
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import { CdpError, type SourceLocation } from '../errors.js';
import { HELPER_CODES, literalAt, makeTemplateScanner, TEXT, type TemplateScan } from './template-scan.js';

type AST = hbs.AST.Program;
type HbsNode = hbs.AST.Node;

export interface RefCall { name: string; line: number; column: number }
export interface SourceCall { source: string; table: string; line: number; column: number }

export interface TemplateAnalysis {
  refs: RefCall[];
  sources: SourceCall[];
  /** Literal `{{config key=value}}` settings, in order. */
  config: Record<string, unknown>;
  configLine?: number;
  /** True when some ref/source takes a non-literal argument: dependencies then come from rendering. */
  dynamic: boolean;
  partials: string[];
}

/** A template made only of text (a string) and simple helper calls, rendered without Handlebars. */
export type SimplePart =
  | string
  | { helper: string; args: unknown[]; hash: Record<string, unknown>; line: number; column: number };

/** A template the fast scanner read (see template-scan.ts): its text and its parts, as numbers. */
export interface ScannedTemplate extends TemplateScan {
  text: string;
}

export interface ParsedTemplate {
  analysis: TemplateAnalysis;
  /** Set when the fast scanner read it: rendered without Handlebars. */
  scanned?: ScannedTemplate;
  /** Set when Handlebars parsed it but the fast interpreter can render it. */
  simple?: SimplePart[];
  /** The Handlebars AST, for templates that need Handlebars itself. */
  ast?: AST;
}

/** State for one render. Rendering is synchronous, so one module-level slot is safe. */
export interface RenderScope {
  ref(name: string, loc: SourceLocation): string;
  source(source: string, table: string, loc: SourceLocation): string;
  variable(name: string, fallback: unknown, hasFallback: boolean, loc: SourceLocation): unknown;
  env(name: string, fallback: unknown, hasFallback: boolean, loc: SourceLocation): unknown;
  isIncremental: boolean;
  thisRelation: string;
  file: string;
}

let scope: RenderScope | undefined;

function lineOf(options: { loc?: hbs.AST.SourceLocation } | undefined, file: string): SourceLocation {
  const start = options?.loc?.start;
  return { file, line: start?.line, column: start ? start.column + 1 : undefined };
}

/** The file being rendered, for helpers defined outside this module to locate their errors. */
export function renderingFile(): string {
  return scope?.file ?? '';
}

function current(): RenderScope {
  if (!scope) throw new Error('template helper called outside a render');
  return scope;
}

/** Built-in helpers. Each takes positional args then Handlebars' options object last. */
const BUILTIN_HELPERS: Record<string, (...args: unknown[]) => unknown> = {
  ref(...args) {
    const opts = args.pop() as Handlebars.HelperOptions & { loc?: hbs.AST.SourceLocation };
    const s = current();
    if (typeof args[0] !== 'string' || args.length !== 1) throw new CdpError('ref takes one model or seed name, e.g. {{ref "stg_orders"}}', { location: lineOf(opts, s.file) });
    return s.ref(args[0], lineOf(opts, s.file));
  },
  source(...args) {
    const opts = args.pop() as Handlebars.HelperOptions & { loc?: hbs.AST.SourceLocation };
    const s = current();
    if (args.length !== 2 || typeof args[0] !== 'string' || typeof args[1] !== 'string') {
      throw new CdpError('source takes a source name and a table name, e.g. {{source "raw" "orders"}}', { location: lineOf(opts, s.file) });
    }
    return s.source(args[0], args[1], lineOf(opts, s.file));
  },
  config() {
    return '';
  },
  var(...args) {
    const opts = args.pop() as Handlebars.HelperOptions & { loc?: hbs.AST.SourceLocation };
    const s = current();
    return s.variable(String(args[0]), args[1], args.length > 1, lineOf(opts, s.file));
  },
  env(...args) {
    const opts = args.pop() as Handlebars.HelperOptions & { loc?: hbs.AST.SourceLocation };
    const s = current();
    return s.env(String(args[0]), args[1], args.length > 1, lineOf(opts, s.file));
  },
  is_incremental() {
    return current().isIncremental;
  },
};

const FAST_HELPERS = new Set(['ref', 'source', 'config', 'var', 'env', 'is_incremental']);

/**
 * Handlebars is loaded on first need: a project whose templates all take the fast path
 * (typical of large generated projects) never pays for loading it.
 */
let handlebarsModule: typeof Handlebars | undefined;
const handlebars = () => (handlebarsModule ??= createRequire(import.meta.url)('handlebars') as typeof Handlebars);

export class TemplateEngine {
  private instance?: typeof Handlebars;
  private readonly helpers = new Map<string, Handlebars.HelperDelegate>(Object.entries(BUILTIN_HELPERS));
  private readonly partialTexts = new Map<string, string>();
  private readonly partialAsts = new Map<string, AST>();
  private readonly compiled = new WeakMap<AST, HandlebarsTemplateDelegate>();

  private get hbs(): typeof Handlebars {
    if (!this.instance) {
      this.instance = handlebars().create();
      for (const [name, fn] of this.helpers) this.instance.registerHelper(name, fn);
      for (const [name, text] of this.partialTexts) this.instance.registerPartial(name, text);
    }
    return this.instance;
  }

  registerPartial(name: string, text: string, file: string): void {
    const ast = parseHandlebars(text, file);
    this.partialAsts.set(name, ast);
    this.partialTexts.set(name, text);
    this.instance?.registerPartial(name, text);
  }

  registerHelper(name: string, fn: Handlebars.HelperDelegate): void {
    this.helpers.set(name, fn);
    this.instance?.registerHelper(name, fn);
  }

  hasHelper(name: string): boolean {
    return this.helpers.has(name) || name in this.hbs.helpers;
  }

  /** `scan`: the fast scanner's result, when the text was scanned already (false: it is not for the scanner). */
  parse(text: string, file: string, scan?: TemplateScan | false): ParsedTemplate {
    const parsed = parseTemplate(text, file, scan);
    // Partials can hold refs too: follow them so the DAG sees those dependencies.
    const seen = new Set<string>();
    const queue = [...parsed.analysis.partials];
    while (queue.length) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const partial = this.partialAsts.get(name);
      if (!partial) throw new CdpError(`unknown partial "${name}"`, { location: { file }, hint: 'partials are the .sql files in macros/, used as {{> file_name}}' });
      const inner = analyse(partial, file);
      parsed.analysis.refs.push(...inner.refs);
      parsed.analysis.sources.push(...inner.sources);
      parsed.analysis.dynamic ||= inner.dynamic;
      queue.push(...inner.partials);
    }
    return parsed;
  }

  render(template: ParsedTemplate, renderScope: RenderScope): string {
    const previous = scope;
    scope = renderScope;
    try {
      if (template.scanned) return interpretScanned(template.scanned, renderScope);
      if (template.simple) return interpret(template.simple, renderScope);
      const ast = template.ast!;
      let fn = this.compiled.get(ast);
      if (!fn) {
        fn = this.hbs.compile(ast as unknown as string, { noEscape: true, strict: false });
        this.compiled.set(ast, fn);
      }
      return fn(thisContext(renderScope));
    } catch (err) {
      if (err instanceof CdpError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new CdpError(`template error: ${message}`, { location: { file: renderScope.file }, hint: 'check the helper names and arguments in this model' });
    } finally {
      scope = previous;
    }
  }
}

/** `{{this}}` renders the model's own relation; `{{this.name}}`/`{{this.schema}}` stay available. */
function thisContext(s: RenderScope): object {
  return { toString: () => s.thisRelation, is_incremental: s.isIncremental };
}

export function parseTemplate(text: string, file: string, scan: TemplateScan | false | undefined = scanTemplate(text)): ParsedTemplate {
  if (scan) {
    const scanned: ScannedTemplate = { text, ops: scan.ops, from: scan.from, to: scan.to };
    return { scanned, analysis: analyseScanned(scanned, file) };
  }
  const ast = parseHandlebars(text, file);
  const parts = simpleParts(ast);
  return parts ? { simple: parts, analysis: analyseParts(parts, file) } : { ast, analysis: analyse(ast, file) };
}

function parseHandlebars(text: string, file: string): AST {
  try {
    return handlebars().parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const line = /on line (\d+)/.exec(message)?.[1];
    const detail = message.split('\n').filter((l) => l.startsWith('Expecting') || l.startsWith('Parse error') || l.startsWith('Lexical')).pop();
    throw new CdpError(`template syntax error${detail ? `: ${detail.replace(/^Parse error on line \d+:\s*/, '')}` : ''}`, {
      location: { file, line: line ? Number(line) : undefined },
      hint: 'check that every {{ has a matching }} and every {{#block}} is closed with {{/block}}',
    });
  }
}

const scanner = makeTemplateScanner();

/** Scans one template on this thread; false when it is not for the fast scanner. */
export function scanTemplate(text: string): TemplateScan | false {
  const out: number[] = [];
  return scanner(text, out) ? { ops: Int32Array.from(out), from: 0, to: out.length } : false;
}

/** Helper calls without `key=value` pairs share one frozen hash. */
const NO_HASH: Record<string, unknown> = Object.freeze({});

/** The `key=value` pairs of the helper call at `ops[at]`, as an object. */
function hashAt(text: string, ops: Int32Array, at: number): Record<string, unknown> {
  const argc = ops[at + 3];
  const hashc = ops[at + 4];
  let hash = NO_HASH;
  for (let k = 0, p = at + 5 + 3 * argc; k < hashc; k++, p += 5) (hash === NO_HASH ? (hash = {}) : hash)[text.slice(ops[p], ops[p + 1])] = literalAt(text, ops, p + 2);
  return hash;
}

/** The fast scanner's parts as objects (undefined when it does not take the template). */
export function scanSimpleTemplate(text: string): SimplePart[] | undefined {
  const scan = scanTemplate(text);
  if (!scan) return undefined;
  const parts: SimplePart[] = [];
  forEachPart({ text, ...scan }, (part) => parts.push(part));
  return parts;
}

/** Calls `fn` with each part of a scanned template, as SimplePart. */
function forEachPart(t: ScannedTemplate, fn: (part: SimplePart) => void): void {
  const { text, ops, to } = t;
  for (let i = t.from; i < to; ) {
    if (ops[i] === TEXT) {
      fn(text.slice(ops[i + 1], ops[i + 2]));
      i += 3;
      continue;
    }
    const argc = ops[i + 3];
    const hashc = ops[i + 4];
    const args: unknown[] = new Array(argc);
    for (let k = 0; k < argc; k++) args[k] = literalAt(text, ops, i + 5 + 3 * k);
    fn({ helper: HELPER_CODES[ops[i]], args, hash: hashAt(text, ops, i), line: ops[i + 1], column: ops[i + 2] });
    i += 5 + 3 * argc + 5 * hashc;
  }
}

/** Converts a Handlebars AST made only of text and simple helper calls into parts. */
function simpleParts(ast: AST): SimplePart[] | undefined {
  const parts: SimplePart[] = [];
  for (const stmt of ast.body) {
    if (stmt.type === 'ContentStatement') parts.push((stmt as hbs.AST.ContentStatement).value);
    else if (stmt.type === 'CommentStatement') continue;
    else if (stmt.type === 'MustacheStatement') {
      const m = stmt as hbs.AST.MustacheStatement;
      if (m.path.type !== 'PathExpression') return undefined;
      const name = (m.path as hbs.AST.PathExpression).original;
      if (!FAST_HELPERS.has(name) && name !== 'this') return undefined;
      const args = m.params.map(literalValue);
      const pairs = (m.hash?.pairs ?? []).map((p) => [p.key, literalValue(p.value)] as const);
      if (!args.every((a) => a.ok) || !pairs.every(([, v]) => v.ok)) return undefined;
      if (name === 'this' && (args.length || pairs.length)) return undefined;
      parts.push({
        helper: name,
        args: args.map((a) => (a as { value: unknown }).value),
        hash: Object.fromEntries(pairs.map(([k, v]) => [k, (v as { value: unknown }).value])),
        line: m.loc?.start.line ?? 0,
        column: (m.loc?.start.column ?? 0) + 1,
      });
    } else return undefined;
  }
  return parts;
}

function analyseParts(parts: SimplePart[], file: string): TemplateAnalysis {
  const out: TemplateAnalysis = { refs: [], sources: [], config: {}, dynamic: false, partials: [] };
  for (const p of parts) {
    if (typeof p === 'string') continue;
    const { helper, args, line, column } = p;
    if (helper === 'ref') {
      if (args.length === 1 && typeof args[0] === 'string') out.refs.push({ name: args[0], line, column });
      else throw new CdpError('ref takes one model or seed name, e.g. {{ref "stg_orders"}}', { location: { file, line, column } });
    } else if (helper === 'source') {
      if (args.length === 2 && typeof args[0] === 'string' && typeof args[1] === 'string') out.sources.push({ source: args[0], table: args[1], line, column });
      else throw new CdpError('source takes a source name and a table name, e.g. {{source "raw" "orders"}}', { location: { file, line, column } });
    } else if (helper === 'config') {
      Object.assign(out.config, p.hash);
      out.configLine ??= line;
    }
  }
  // Exact-size copies (an array grown by push reserves 17 slots): these live as long as the compile.
  if (out.refs.length) out.refs = out.refs.slice();
  if (out.sources.length) out.sources = out.sources.slice();
  return out;
}

/** As analyseParts, reading the scanned parts in place: only the helper calls are looked at. */
function analyseScanned(t: ScannedTemplate, file: string): TemplateAnalysis {
  const { text, ops, to } = t;
  let refs: RefCall[] | undefined;
  let sources: SourceCall[] | undefined;
  const out: TemplateAnalysis = { refs: NO_REFS, sources: NO_SOURCES, config: {}, dynamic: false, partials: NO_PARTIALS };
  for (let i = t.from; i < to; ) {
    const code = ops[i];
    if (code === TEXT) {
      i += 3;
      continue;
    }
    const line = ops[i + 1];
    const column = ops[i + 2];
    const argc = ops[i + 3];
    const hashc = ops[i + 4];
    const helper = HELPER_CODES[code];
    const arg = i + 5;
    if (helper === 'ref') {
      if (argc === 1 && ops[arg] === 0) (refs ??= []).push({ name: text.slice(ops[arg + 1], ops[arg + 2]), line, column });
      else throw new CdpError('ref takes one model or seed name, e.g. {{ref "stg_orders"}}', { location: { file, line, column } });
    } else if (helper === 'source') {
      if (argc === 2 && ops[arg] === 0 && ops[arg + 3] === 0) (sources ??= []).push({ source: text.slice(ops[arg + 1], ops[arg + 2]), table: text.slice(ops[arg + 4], ops[arg + 5]), line, column });
      else throw new CdpError('source takes a source name and a table name, e.g. {{source "raw" "orders"}}', { location: { file, line, column } });
    } else if (helper === 'config') {
      Object.assign(out.config, hashAt(text, ops, i));
      out.configLine ??= line;
    }
    i += 5 + 3 * argc + 5 * hashc;
  }
  // Exact-size copies: these live as long as the compile.
  if (refs) out.refs = refs.slice();
  if (sources) out.sources = sources.slice();
  return out;
}

/**
 * What a scanned template without refs, sources or partials shares. Frozen: nothing may add to
 * them (partials are followed only for templates Handlebars parsed, which have arrays of their own).
 */
const NO_REFS = Object.freeze([]) as unknown as RefCall[];
const NO_SOURCES = Object.freeze([]) as unknown as SourceCall[];
const NO_PARTIALS = Object.freeze([]) as unknown as string[];

function literalValue(node: HbsNode): { ok: true; value: unknown } | { ok: false } {
  switch (node.type) {
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral':
      return { ok: true, value: (node as hbs.AST.StringLiteral).value };
    case 'NullLiteral':
      return { ok: true, value: null };
    case 'UndefinedLiteral':
      return { ok: true, value: undefined };
    default:
      return { ok: false };
  }
}

function analyse(ast: AST, file: string): TemplateAnalysis {
  const out: TemplateAnalysis = { refs: [], sources: [], config: {}, dynamic: false, partials: [] };
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const n = node as HbsNode & Record<string, unknown>;
    if (n.type === 'MustacheStatement' || n.type === 'SubExpression' || n.type === 'BlockStatement') {
      const call = n as unknown as hbs.AST.MustacheStatement;
      const helper = call.path.type === 'PathExpression' ? (call.path as hbs.AST.PathExpression).original : undefined;
      const line = call.loc?.start.line ?? 0;
      const column = (call.loc?.start.column ?? 0) + 1;
      const lits = call.params.map(literalValue);
      if (helper === 'ref') {
        if (lits.length === 1 && lits[0].ok && typeof lits[0].value === 'string') out.refs.push({ name: lits[0].value, line, column });
        else out.dynamic = true;
      } else if (helper === 'source') {
        if (lits.length === 2 && lits.every((l) => l.ok && typeof l.value === 'string')) {
          out.sources.push({ source: (lits[0] as { value: string }).value, table: (lits[1] as { value: string }).value, line, column });
        } else out.dynamic = true;
      } else if (helper === 'config') {
        for (const pair of call.hash?.pairs ?? []) {
          const lit = literalValue(pair.value);
          if (!lit.ok) throw new CdpError(`config values must be literals ("${pair.key}")`, { location: { file, line, column }, hint: 'write e.g. {{config materialized="table"}}' });
          out.config[pair.key] = lit.value;
        }
        out.configLine ??= line;
      }
    }
    if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
      const name = (n as unknown as hbs.AST.PartialStatement).name as HbsNode;
      if (name.type === 'PathExpression') out.partials.push((name as hbs.AST.PathExpression).original);
      else if (name.type === 'StringLiteral') out.partials.push((name as hbs.AST.StringLiteral).value);
    }
    for (const [key, value] of Object.entries(n)) {
      if (key !== 'loc' && key !== 'strip' && value && typeof value === 'object') visit(value);
    }
  };
  visit(ast.body);
  return out;
}

/** Joined rather than concatenated: the result is one flat string, not a tree of pieces kept alive with it. */
function interpret(parts: SimplePart[], s: RenderScope): string {
  const out: string[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (typeof part === 'string') {
      out[i] = part;
      continue;
    }
    if (part.helper === 'this') {
      out[i] = s.thisRelation;
      continue;
    }
    const value = callBuiltin(part, s);
    out[i] = value === null || value === undefined ? '' : String(value);
  }
  return out.join('');
}

/** As interpret, reading the scanned parts in place. */
function interpretScanned(t: ScannedTemplate, s: RenderScope): string {
  const { text, ops, to } = t;
  const out: string[] = [];
  for (let i = t.from; i < to; ) {
    const code = ops[i];
    if (code === TEXT) {
      out.push(text.slice(ops[i + 1], ops[i + 2]));
      i += 3;
      continue;
    }
    const argc = ops[i + 3];
    const next = i + 5 + 3 * argc + 5 * ops[i + 4];
    const helper = HELPER_CODES[code];
    if (helper === 'this') {
      out.push(s.thisRelation);
    } else {
      const args: unknown[] = new Array(argc);
      for (let k = 0; k < argc; k++) args[k] = literalAt(text, ops, i + 5 + 3 * k);
      const value = callBuiltin({ helper, args, hash: NO_HASH, line: ops[i + 1], column: ops[i + 2] }, s);
      out.push(value === null || value === undefined ? '' : String(value));
    }
    i = next;
  }
  return out.join('');
}

/**
 * What BUILTIN_HELPERS would return for `part`, without building Handlebars' options object
 * for each call (tens of thousands in a large project). The arguments were checked when the
 * template was parsed (analyseParts).
 */
function callBuiltin(part: Exclude<SimplePart, string>, s: RenderScope): unknown {
  const { args } = part;
  const loc: SourceLocation = { file: s.file, line: part.line, column: part.column };
  switch (part.helper) {
    case 'ref':
      return s.ref(args[0] as string, loc);
    case 'source':
      return s.source(args[0] as string, args[1] as string, loc);
    case 'config':
      return '';
    case 'var':
      return s.variable(String(args[0]), args[1], args.length > 1, loc);
    case 'env':
      return s.env(String(args[0]), args[1], args.length > 1, loc);
    case 'is_incremental':
      return s.isIncremental;
    default:
      return BUILTIN_HELPERS[part.helper](...args, { loc: { start: { line: part.line, column: part.column - 1 } }, hash: part.hash });
  }
}
