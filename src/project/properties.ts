/**
 * Property files (`models/**\/*.yml`, `seeds/*.yml`): descriptions, columns, tests and config
 * for models and seeds, and source declarations.
 */
import type { LogicalType } from '../warehouse/types.js';
import { CdpErrors, type SourceLocation } from '../errors.js';
import { loadYaml, s, type YamlValidator } from './schema.js';

const identifier = s.str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'use letters, digits and underscores, starting with a letter' });
const stringList = s.oneOf('a string or a list of strings', s.str(), s.arr(s.str()));

export const LOGICAL_TYPES: readonly LogicalType[] = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'text', 'date', 'timestamp', 'json'];

export const modelConfigSchema = s.obj({
  materialized: s.str(),
  schema: identifier,
  alias: identifier,
  unique_key: stringList,
  incremental_strategy: s.str({ enum: ['merge', 'append'] }),
  on_schema_change: s.str({ enum: ['fail', 'ignore', 'append_new_columns'] }),
  tags: stringList,
  enabled: s.bool(),
  meta: s.map(s.any()),
});

const seedConfigSchema = s.obj({
  schema: identifier,
  alias: identifier,
  tags: stringList,
  enabled: s.bool(),
  column_types: s.map(s.str({ enum: LOGICAL_TYPES })),
});

const testEntry = s.oneOf('a test name (e.g. not_null) or a mapping like {accepted_values: {values: [a, b]}}', s.str(), s.map(s.any()));

const columnSchema = s.obj({ name: s.str(), description: s.str(), data_type: s.str(), tests: s.arr(testEntry), meta: s.map(s.any()) }, ['name']);

const propertiesSchema = s.obj({
  version: s.int(1),
  models: s.arr(s.obj({ name: identifier, description: s.str(), config: modelConfigSchema, tags: stringList, columns: s.arr(columnSchema), tests: s.arr(testEntry), meta: s.map(s.any()) }, ['name'])),
  seeds: s.arr(s.obj({ name: identifier, description: s.str(), config: seedConfigSchema, columns: s.arr(columnSchema), tests: s.arr(testEntry) }, ['name'])),
  sources: s.arr(
    s.obj(
      {
        name: identifier,
        description: s.str(),
        schema: identifier,
        tables: s.arr(s.obj({ name: identifier, identifier: s.str(), description: s.str(), columns: s.arr(columnSchema), tests: s.arr(testEntry) }, ['name'])),
      },
      ['name', 'tables'],
    ),
  ),
});

export type RawTest = string | Record<string, unknown>;

export interface TestDecl {
  raw: RawTest;
  column?: string;
  location: SourceLocation;
}

export interface ColumnProps {
  name: string;
  description?: string;
  dataType?: string;
}

export interface ResourceProps {
  kind: 'model' | 'seed';
  name: string;
  description?: string;
  config: Record<string, unknown>;
  tags: string[];
  columns: ColumnProps[];
  tests: TestDecl[];
  location: SourceLocation;
}

export interface SourceTableProps {
  sourceName: string;
  name: string;
  schema: string;
  identifier: string;
  description?: string;
  columns: ColumnProps[];
  tests: TestDecl[];
  location: SourceLocation;
}

export interface PropertiesFile {
  resources: ResourceProps[];
  sources: SourceTableProps[];
}

interface RawColumn { name: string; description?: string; data_type?: string; tests?: RawTest[] }
interface RawResource { name: string; description?: string; config?: Record<string, unknown>; tags?: string | string[]; columns?: RawColumn[]; tests?: RawTest[] }
interface RawSource { name: string; description?: string; schema?: string; tables: (RawResource & { identifier?: string })[] }
interface RawProperties { models?: RawResource[]; seeds?: RawResource[]; sources?: RawSource[] }

export function asList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** `parsed`: the file's YAML, when it was already parsed (see load-worker.ts). */
export function parseProperties(text: string, file: string, parsed?: { value: unknown }): PropertiesFile {
  const { value, validator } = loadYaml<RawProperties>(text, file, propertiesSchema, parsed);
  if (validator.errors.length) throw validator.errors.length === 1 ? validator.errors[0] : new CdpErrors(validator.errors);
  const at = (p: (string | number)[]) => new LazyLocation(validator, p);

  /**
   * A resource's tests, its own then its columns'. Large projects hold tens of thousands of
   * these for the whole compile, so they are kept small: the declarations of one list share
   * their key path's prefix, and the array is copied to its exact size.
   */
  const allTests = (r: RawResource, base: (string | number)[]): TestDecl[] => {
    const out: TestDecl[] = [];
    const add = (list: RawTest[] | undefined, prefix: (string | number)[], column?: string) => {
      if (!list?.length) return;
      const keyPrefix = prefix.concat('tests');
      for (let i = 0; i < list.length; i++) out.push({ raw: list[i], column, location: new LazyLocation(validator, keyPrefix, i) });
    };
    add(r.tests, base);
    r.columns?.forEach((c, ci) => add(c.tests, base.concat('columns', ci), c.name));
    return out.length ? out.slice() : out;
  };

  const resource = (kind: 'model' | 'seed', r: RawResource, base: (string | number)[]): ResourceProps => ({
    kind,
    name: r.name,
    description: r.description,
    config: r.config ?? {},
    tags: asList(r.tags),
    columns: (r.columns ?? []).map((c) => ({ name: c.name, description: c.description, dataType: c.data_type })),
    tests: allTests(r, base),
    location: at(base),
  });

  const resources = [
    ...(value.models ?? []).map((m, i) => resource('model', m, ['models', i])),
    ...(value.seeds ?? []).map((m, i) => resource('seed', m, ['seeds', i])),
  ];
  const sources = (value.sources ?? []).flatMap((src, si) =>
    src.tables.map((t, ti) => {
      const base = ['sources', si, 'tables', ti];
      return {
        sourceName: src.name,
        name: t.name,
        schema: src.schema ?? src.name,
        identifier: t.identifier ?? t.name,
        description: t.description,
        columns: (t.columns ?? []).map((c) => ({ name: c.name, description: c.description, dataType: c.data_type })),
        tests: allTests(t, base),
        location: at(base),
      };
    }),
  );
  return { resources, sources };
}


/**
 * A location whose line is looked up only when read: most declarations never need one,
 * and looking lines up needs a slower parse of the file. Getters live on the prototype,
 * so making one per declaration stays cheap. The key path is `prefix` then `index`, when
 * there is one, so that declarations in one list share their prefix.
 */
class LazyLocation implements SourceLocation {
  private resolved?: SourceLocation;
  constructor(private readonly validator: YamlValidator, private readonly prefix: (string | number)[], private readonly index?: number) {}
  private get keyPath(): (string | number)[] {
    return this.index === undefined ? this.prefix : [...this.prefix, this.index];
  }
  get file(): string {
    return this.validator.locator.file;
  }
  get key(): string {
    return this.keyPath.join('.');
  }
  get line(): number | undefined {
    return (this.resolved ??= this.validator.locate(this.keyPath)).line;
  }
  get column(): number | undefined {
    return (this.resolved ??= this.validator.locate(this.keyPath)).column;
  }
  toJSON(): SourceLocation {
    return { file: this.file, line: this.line, column: this.column, key: this.key };
  }
}
