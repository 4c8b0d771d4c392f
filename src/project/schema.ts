/**
 * A small schema language for YAML files. Validation walks the YAML AST rather than the
 * plain JS value so that every problem can name its file, line, column and key path.
 */
import { closest, distance } from 'fastest-levenshtein';
import YAML, { isMap, isScalar, isSeq, LineCounter, type Node as YamlNode, type Document } from 'yaml';
import { CdpError, type SourceLocation } from '../errors.js';

export type Schema =
  | { kind: 'string'; enum?: readonly string[]; pattern?: RegExp; patternHint?: string }
  | { kind: 'number'; integer?: boolean; min?: number }
  | { kind: 'boolean' }
  | { kind: 'any' }
  | { kind: 'array'; items: Schema }
  | { kind: 'object'; props: Record<string, Schema>; required?: readonly string[]; additional?: Schema }
  /** An object whose `tag` key selects the schema of the rest. */
  | { kind: 'tagged'; tag: string; variants: Record<string, Schema> }
  | { kind: 'oneOf'; options: Schema[]; description: string };

export const s = {
  str: (opts: { enum?: readonly string[]; pattern?: RegExp; patternHint?: string } = {}): Schema => ({ kind: 'string', ...opts }),
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

export interface ParsedYaml {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** Parses YAML text; syntax errors become CdpErrors with line and column. */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new CdpError(`invalid YAML: ${msg}`, { location: { file, line: pos.line, column: pos.col }, hint: 'fix the YAML syntax (indentation, quotes, colons)' });
  }
  return { file, doc, lines };
}

export class YamlValidator {
  readonly errors: CdpError[] = [];
  constructor(private readonly parsed: ParsedYaml) {}

  locate(node: YamlNode | null | undefined, key: string[]): SourceLocation {
    const loc: SourceLocation = { file: this.parsed.file, key: key.length ? key.join('.') : undefined };
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const pos = this.parsed.lines.linePos(offset);
      loc.line = pos.line;
      loc.column = pos.col;
    }
    return loc;
  }

  private fail(node: YamlNode | null | undefined, key: string[], message: string, hint?: string): undefined {
    this.errors.push(new CdpError(message, { location: this.locate(node, key), hint }));
    return undefined;
  }

  /** Validates `node` against `schema` and returns the plain JS value (undefined where invalid). */
  check(node: YamlNode | null | undefined, schema: Schema, key: string[]): unknown {
    if (node === null || node === undefined) return undefined;
    switch (schema.kind) {
      case 'any':
        return node.toJSON();
      case 'string': {
        if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) return this.fail(node, key, 'expected a string');
        const v = String(node.value);
        if (schema.enum && !schema.enum.includes(v)) {
          const near = didYouMean(v, schema.enum);
          return this.fail(node, key, `unknown value "${v}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${schema.enum.join(', ')}`);
        }
        if (schema.pattern && !schema.pattern.test(v)) return this.fail(node, key, `invalid value "${v}"`, schema.patternHint);
        return v;
      }
      case 'number': {
        if (!isScalar(node) || typeof node.value !== 'number') return this.fail(node, key, 'expected a number');
        if (schema.integer && !Number.isInteger(node.value)) return this.fail(node, key, 'expected a whole number');
        if (schema.min !== undefined && node.value < schema.min) return this.fail(node, key, `must be at least ${schema.min}`);
        return node.value;
      }
      case 'boolean':
        if (!isScalar(node) || typeof node.value !== 'boolean') return this.fail(node, key, 'expected true or false');
        return node.value;
      case 'array': {
        if (!isSeq(node)) return this.fail(node, key, 'expected a list');
        return node.items.map((item, i) => this.check(item as YamlNode, schema.items, [...key, String(i)]));
      }
      case 'object':
        return this.checkObject(node, schema, key);
      case 'tagged': {
        if (!isMap(node)) return this.fail(node, key, 'expected a mapping');
        const tagNode = node.get(schema.tag, true) as YamlNode | undefined;
        const tag = isScalar(tagNode) ? String(tagNode.value) : undefined;
        const names = Object.keys(schema.variants);
        if (tag === undefined) return this.fail(node, key, `missing \`${schema.tag}\``, `expected one of: ${names.join(', ')}`);
        const variant = schema.variants[tag];
        if (!variant) {
          const near = didYouMean(tag, names);
          return this.fail(tagNode, [...key, schema.tag], `unknown ${schema.tag} "${tag}"`, `${near ? `did you mean "${near}"? ` : ''}expected one of: ${names.join(', ')}`);
        }
        return this.check(node, variant, key);
      }
      case 'oneOf': {
        for (const option of schema.options) {
          const probe = new YamlValidator(this.parsed);
          const value = probe.check(node, option, key);
          if (probe.errors.length === 0) return value;
        }
        return this.fail(node, key, `expected ${schema.description}`);
      }
    }
  }

  private checkObject(node: YamlNode, schema: Extract<Schema, { kind: 'object' }>, key: string[]): Record<string, unknown> | undefined {
    if (!isMap(node)) return this.fail(node, key, 'expected a mapping of keys to values');
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      seen.add(k);
      const propSchema = schema.props[k] ?? schema.additional;
      if (!propSchema) {
        const near = didYouMean(k, Object.keys(schema.props));
        this.fail(pair.key as YamlNode, [...key, k], `unknown key "${k}"`, near ? `did you mean "${near}"?` : `allowed keys: ${Object.keys(schema.props).join(', ')}`);
        continue;
      }
      const value = this.check(pair.value as YamlNode, propSchema, [...key, k]);
      if (value !== undefined) out[k] = value;
    }
    for (const req of schema.required ?? []) {
      if (!seen.has(req)) this.fail(node, [...key, req], `missing required key "${req}"`);
    }
    return out;
  }

  /** The AST node at a key path, for locating errors found after validation. */
  nodeAt(path: (string | number)[]): YamlNode | undefined {
    return this.parsed.doc.getIn(path, true) as YamlNode | undefined;
  }
}

/** Parses and validates one YAML file; throws every problem found at once. */
export function loadYaml<T>(text: string, file: string, schema: Schema): { value: T; validator: YamlValidator } {
  const parsed = parseYaml(text, file);
  const validator = new YamlValidator(parsed);
  const value = (validator.check(parsed.doc.contents as YamlNode, schema, []) ?? {}) as T;
  return { value, validator };
}
