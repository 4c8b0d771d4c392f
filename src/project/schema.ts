/**
 * A small schema language for YAML files. Files are parsed fast without positions and
 * validated as plain values; only when a problem is found is the file parsed again with
 * positions, so every error still names its file, line, column and key path.
 */
import { closest, distance } from 'fastest-levenshtein';
import { createRequire } from 'node:module';
import jsYaml from 'js-yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { CdpError, type SourceLocation } from '../errors.js';

export type Schema =
  | { kind: 'string'; enum?: readonly string[]; pattern?: RegExp; patternHint?: string; secret?: boolean }
  | { kind: 'number'; integer?: boolean; min?: number }
  | { kind: 'boolean' }
  | { kind: 'any' }
  | { kind: 'array'; items: Schema }
  | { kind: 'object'; props: Record<string, Schema>; required?: readonly string[]; additional?: Schema }
  /** An object whose `tag` key selects the schema of the rest. */
  | { kind: 'tagged'; tag: string; variants: Record<string, Schema> }
  | { kind: 'oneOf'; options: Schema[]; description: string };

export const s = {
  str: (opts: { enum?: readonly string[]; pattern?: RegExp; patternHint?: string; secret?: boolean } = {}): Schema => ({ kind: 'string', ...opts }),
  num: (opts: { integer?: boolean; min?: number } = {}): Schema => ({ kind: 'number', ...opts }),
  int: (min?: number): Schema => ({ kind: 'number', integer: true, min }),
  bool: (): Schema => ({ kind: 'boolean' }),
  any: (): Schema => ({ kind: 'any' }),
  arr: (items: Schema): Schema => ({ kind: 'array', items }),
  obj: (props: Record<string, Schema>, required: readonly string[] = []): Schema => ({ kind: 'object', props, required }),
  map: (values: Schema): Schema => ({ kind: 'object', props: {}, additional: values }),
  tagged: (tag: string, variants: Record<string, Schema>): Schema => ({ kind: 'tagged', tag, variants }),
  oneOf: (description: string, ...options: Schema[]): Schema => ({ kind: 'oneOf', options, description }),
};

/** Suggests the closest known name when a user misspells one. */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  if (list.length === 0) return undefined;
  const best = closest(input, list);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(input, best) <= limit ? best : undefined;
}

/**
 * Finds where a key path sits in the file. Parsing with positions is several times slower
 * than a plain parse, so it happens only when there is a problem to report.
 */
export class YamlLocator {
  private parsed?: { doc: Document.Parsed; lines: LineCounter };
  constructor(readonly file: string, private readonly text: string) {}

  locate(keyPath: (string | number)[], which: 'key' | 'value' = 'value'): SourceLocation {
    const loc: SourceLocation = { file: this.file, key: keyPath.length ? keyPath.join('.') : undefined };
    // The positional parser loads only when a problem is reported: most runs never need it.
    const YAML = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const { isMap, isScalar } = YAML;
    if (!this.parsed) {
      const lines = new YAML.LineCounter();
      this.parsed = { doc: YAML.parseDocument(this.text, { lineCounter: lines, uniqueKeys: false }), lines };
    }
    const { doc, lines } = this.parsed;
    let node = (keyPath.length ? doc.getIn(keyPath, true) : doc.contents) as YamlNode | undefined;
    if (which === 'key' && keyPath.length) {
      const parent = (keyPath.length > 1 ? doc.getIn(keyPath.slice(0, -1), true) : doc.contents) as YamlNode | undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(keyPath[keyPath.length - 1]));
        if (pair && isScalar(pair.key)) node = pair.key;
      }
    }
    // A missing key is reported at its parent mapping.
    for (let depth = keyPath.length - 1; !node && depth >= 0; depth--) node = doc.getIn(keyPath.slice(0, depth), true) as YamlNode | undefined;
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const pos = lines.linePos(offset);
      loc.line = pos.line;
      loc.column = pos.col;
    }
    return loc;
  }
}

/** Parses YAML text quickly (no positions); syntax errors become CdpErrors with line and column. */
export function parseYamlText(text: string, file: string): unknown {
  try {
    return jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA, filename: file });
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number }; message?: string };
    throw yamlSyntaxError(file, { reason: e.reason, message: e.message ?? String(err), line: e.mark?.line, column: e.mark?.column });
  }
}

/** A js-yaml syntax error as a CdpError; `line` and `column` are js-yaml's, zero-based. */
export function yamlSyntaxError(file: string, e: { reason?: string; message?: string; line?: number; column?: number }): CdpError {
  return new CdpError(`invalid YAML: ${e.reason ?? e.message}`, {
    location: { file, line: e.line !== undefined ? e.line + 1 : undefined, column: e.column !== undefined ? e.column + 1 : undefined },
    hint: 'fix the YAML syntax (indentation, quotes, colons, duplicate keys)',
  });
}

type Problem = { path: (string | number)[]; message: string; hint?: string; at: 'key' | 'value' };

export class YamlValidator {
  private readonly problems: Problem[] = [];
  private cached?: CdpError[];
  constructor(readonly locator: YamlLocator) {}

  get errors(): CdpError[] {
    if (!this.cached || this.cached.length !== this.problems.length) {
      this.cached = this.problems.map((p) => new CdpError(p.message, { location: this.locator.locate(p.path, p.at), hint: p.hint }));
    }
    return this.cached;
  }

  /** Location of a key path, for problems found after validation. */
  locate(path: (string | number)[]): SourceLocation {
    return this.locator.locate(path);
  }

  private fail(path: (string | number)[], message: string, hint?: string, at: 'key' | 'value' = 'value'): undefined {
    this.problems.push({ path: path.slice(), message, hint, at });
    return undefined;
  }

  /**
   * Validates a plain value against `schema`; returns it (undefined where invalid). `path`
   * is extended and restored as the walk goes down, and copied only for a problem: a large
   * project has hundreds of thousands of values, nearly all of them valid.
   */
  check(value: unknown, schema: Schema, path: (string | number)[]): unknown {
    // An empty document is an empty mapping, so its required keys are still reported.
    if ((value === null || value === undefined) && path.length === 0 && schema.kind === 'object') value = {};
    if (value === null || value === undefined) return undefined;
    switch (schema.kind) {
      case 'any':
        return value;
      case 'string': {
        if (typeof value !== 'string' && typeof value !== 'number') return this.fail(path, 'expected a string');
        const v = String(value);
        if (schema.enum && !schema.enum.includes(v)) {
          const near = didYouMean(v, schema.enum);
          return this.fail(path, `unknown value "${v}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${schema.enum.join(', ')}`);
        }
        // A rejected secret must not be echoed into logs.
        if (schema.pattern && !schema.pattern.test(v)) return this.fail(path, schema.secret ? 'invalid value (not shown: this key holds a secret)' : `invalid value "${v}"`, schema.patternHint);
        return v;
      }
      case 'number':
        if (typeof value !== 'number') return this.fail(path, 'expected a number');
        if (schema.integer && !Number.isInteger(value)) return this.fail(path, 'expected a whole number');
        if (schema.min !== undefined && value < schema.min) return this.fail(path, `must be at least ${schema.min}`);
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') return this.fail(path, 'expected true or false');
        return value;
      case 'array':
        if (!Array.isArray(value)) return this.fail(path, 'expected a list');
        return this.checkArray(value, schema.items, path);
      case 'object':
        return this.checkObject(value, schema, path);
      case 'tagged': {
        if (!isPlainObject(value)) return this.fail(path, 'expected a mapping');
        const names = Object.keys(schema.variants);
        const tag = value[schema.tag];
        if (tag === undefined || tag === null) return this.fail(path, `missing \`${schema.tag}\``, `expected one of: ${names.join(', ')}`);
        const variant = schema.variants[String(tag)];
        if (!variant) {
          const near = didYouMean(String(tag), names);
          return this.fail([...path, schema.tag], `unknown ${schema.tag} "${String(tag)}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${names.join(', ')}`);
        }
        return this.check(value, variant, path);
      }
      case 'oneOf': {
        for (const option of schema.options) {
          const probe = new YamlValidator(this.locator);
          const result = probe.check(value, option, path);
          if (probe.problems.length === 0) return result;
        }
        return this.fail(path, `expected ${schema.description}`);
      }
    }
  }

  /*
   * Lists and mappings come back as they are when every item checks unchanged (the usual case),
   * and are copied only from the first item that does not: a large project's property files hold
   * hundreds of thousands of values, and copies of them all would live as long as the compile.
   */

  private checkArray(value: unknown[], items: Schema, path: (string | number)[]): unknown[] {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const checked = this.check(value[i], items, path);
      path.pop();
      if (!out && checked !== value[i]) out = value.slice(0, i);
      if (out) out.push(checked);
    }
    return out ?? value;
  }

  private checkObject(value: unknown, schema: Extract<Schema, { kind: 'object' }>, path: (string | number)[]): Record<string, unknown> | undefined {
    if (!isPlainObject(value)) return this.fail(path, 'expected a mapping of keys to values');
    let out: Record<string, unknown> | undefined;
    const keys = Object.keys(value);
    // The keys before `i`, all kept unchanged, copied once something differs.
    const copyUpTo = (i: number) => {
      const copy: Record<string, unknown> = {};
      for (let j = 0; j < i; j++) copy[keys[j]] = value[keys[j]];
      return copy;
    };
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = value[k];
      const propSchema = schema.props[k] ?? schema.additional;
      if (!propSchema) {
        const near = didYouMean(k, Object.keys(schema.props));
        this.fail([...path, k], `unknown key "${k}"`, near ? `did you mean "${near}"?` : `allowed keys: ${Object.keys(schema.props).join(', ')}`, 'key');
        out ??= copyUpTo(i);
        continue;
      }
      path.push(k);
      const checked = this.check(v, propSchema, path);
      path.pop();
      if (!out && (checked !== v || checked === undefined)) out = copyUpTo(i);
      if (out && checked !== undefined) out[k] = checked;
    }
    for (const req of schema.required ?? []) {
      if (value[req] === undefined || value[req] === null) this.fail([...path, req], `missing required key "${req}"`);
    }
    return out ?? value;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates one YAML file. Problems are in `validator.errors`. `parsed` is the
 * file already parsed (by parseYamlText's rules), when it was parsed elsewhere.
 */
export function loadYaml<T>(text: string, file: string, schema: Schema, parsed?: { value: unknown }): { value: T; validator: YamlValidator } {
  const raw = parsed ? parsed.value : parseYamlText(text, file);
  const validator = new YamlValidator(new YamlLocator(file, text));
  const value = (validator.check(raw, schema, []) ?? {}) as T;
  return { value, validator };
}
