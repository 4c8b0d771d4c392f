/**
 * Handlebars templates for SQL: parsing with located errors, static extraction of
 * ref/source/config from the AST (no rendering needed to build the DAG), and rendering.
 *
 * Rendering has a fast path: templates made only of text and simple helper calls with
 * literal arguments (the vast majority of models) are interpreted straight from the AST,
 * which is far cheaper than Handlebars' compile-to-JS step. Everything else goes through
 * Handlebars itself, so behaviour is identical either way (a test checks this).
 */
import Handlebars from 'handlebars';
import { CdpError, type SourceLocation } from '../errors.js';

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

export interface ParsedTemplate {
  ast: AST;
  analysis: TemplateAnalysis;
  /** True when the fast interpreter can render it. */
  simple: boolean;
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

export class TemplateEngine {
  private readonly hbs = Handlebars.create();
  private readonly partialAsts = new Map<string, AST>();
  private readonly compiled = new WeakMap<AST, HandlebarsTemplateDelegate>();

  constructor() {
    for (const [name, fn] of Object.entries(BUILTIN_HELPERS)) this.hbs.registerHelper(name, fn);
  }

  registerPartial(name: string, text: string, file: string): void {
    const ast = parseTemplate(text, file).ast;
    this.partialAsts.set(name, ast);
    this.hbs.registerPartial(name, ast as unknown as Handlebars.Template);
  }

  registerHelper(name: string, fn: Handlebars.HelperDelegate): void {
    this.hbs.registerHelper(name, fn);
  }

  hasHelper(name: string): boolean {
    return name in this.hbs.helpers;
  }

  parse(text: string, file: string): ParsedTemplate {
    const parsed = parseTemplate(text, file);
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
      if (template.simple) return interpret(template.ast, renderScope);
      let fn = this.compiled.get(template.ast);
      if (!fn) {
        fn = this.hbs.compile(template.ast as unknown as string, { noEscape: true, strict: false });
        this.compiled.set(template.ast, fn);
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

export function parseTemplate(text: string, file: string): ParsedTemplate {
  let ast: AST;
  try {
    ast = Handlebars.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const line = /on line (\d+)/.exec(message)?.[1];
    const detail = message.split('\n').filter((l) => l.startsWith('Expecting') || l.startsWith('Parse error') || l.startsWith('Lexical')).pop();
    throw new CdpError(`template syntax error${detail ? `: ${detail.replace(/^Parse error on line \d+:\s*/, '')}` : ''}`, {
      location: { file, line: line ? Number(line) : undefined },
      hint: 'check that every {{ has a matching }} and every {{#block}} is closed with {{/block}}',
    });
  }
  return { ast, analysis: analyse(ast, file), simple: isSimple(ast) };
}

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

function isSimple(ast: AST): boolean {
  return ast.body.every((stmt) => {
    if (stmt.type === 'ContentStatement' || stmt.type === 'CommentStatement') return true;
    if (stmt.type !== 'MustacheStatement') return false;
    const m = stmt as hbs.AST.MustacheStatement;
    if (m.path.type !== 'PathExpression') return false;
    const p = m.path as hbs.AST.PathExpression;
    if (p.original === 'this' && m.params.length === 0 && !(m.hash?.pairs.length)) return true;
    if (!FAST_HELPERS.has(p.original)) return false;
    return m.params.every((x) => literalValue(x).ok) && (m.hash?.pairs ?? []).every((pair) => literalValue(pair.value).ok);
  });
}

function interpret(ast: AST, s: RenderScope): string {
  let out = '';
  for (const stmt of ast.body) {
    if (stmt.type === 'ContentStatement') {
      out += (stmt as hbs.AST.ContentStatement).value;
      continue;
    }
    if (stmt.type !== 'MustacheStatement') continue;
    const m = stmt as hbs.AST.MustacheStatement;
    const name = (m.path as hbs.AST.PathExpression).original;
    if (name === 'this') {
      out += s.thisRelation;
      continue;
    }
    const args = m.params.map((x) => (literalValue(x) as { value: unknown }).value);
    const value = BUILTIN_HELPERS[name](...args, { loc: m.loc, hash: {} });
    out += value === null || value === undefined ? '' : String(value);
  }
  return out;
}
