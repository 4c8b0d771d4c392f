/**
 * Identity specs: `models/**\/<entity>.identity.yml`. Parsed and checked at compile time so
 * that a bad spec fails before anything runs, naming the file, line and key.
 */
import { CdpError, CdpErrors, type SourceLocation } from '../errors.js';
import { didYouMean, loadYaml, s, type YamlValidator } from '../project/schema.js';
import { NORMALIZERS, validateNormalizeOptions, type NormalizeOptions, type NormalizerName } from './normalize.js';
import { parseBlockEntry, validateRegex, type BlockRule } from './blocklist.js';

const identifier = s.str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'use letters, digits and underscores, starting with a letter' });

const idTypeSchema = s.obj({
  normalize: s.str(),
  limit: s.int(1),
  priority: s.int(1),
  max_degree: s.int(1),
  default_country: s.str(),
  fold_plus: s.bool(),
  fold_gmail_dots: s.bool(),
});

const specSchema = s.obj(
  {
    entity: identifier,
    description: s.str(),
    engine: s.str({ enum: ['auto', 'local', 'sql'] }),
    max_rounds: s.int(1),
    default_max_degree: s.int(1),
    blocklist_defaults: s.bool(),
    id_types: s.map(idTypeSchema),
    blocklist: s.map(s.arr(s.str())),
    sources: s.arr(s.obj({ from: s.str(), key: s.str(), ids: s.map(s.str()), updated_at: s.str() }, ['from', 'key', 'ids'])),
    tags: s.arr(s.str()),
  },
  ['entity', 'id_types', 'sources'],
);

export interface IdTypeSpec {
  name: string;
  normalizer: NormalizerName;
  options: NormalizeOptions;
  limit?: number;
  /** Lower numbers resolve first; types without a priority come after, by name. */
  priority?: number;
  maxDegree?: number;
  blocklist: BlockRule[];
}

export interface IdentitySource {
  /** As written: a model or seed name, or `source:name.table`. */
  from: string;
  key: string;
  ids: Record<string, string>;
  updatedAt?: string;
  location: SourceLocation;
}

export interface IdentitySpec {
  entity: string;
  file: string;
  engine: 'auto' | 'local' | 'sql';
  maxRounds: number;
  blocklistDefaults: boolean;
  /** In resolution order (priority, then name). */
  idTypes: IdTypeSpec[];
  sources: IdentitySource[];
  tags: string[];
  description?: string;
  location: SourceLocation;
}

/** Default cap: an identifier shared with more than this many values of another type is quarantined. */
export const DEFAULT_MAX_DEGREE = 25;
const NO_PRIORITY = Number.MAX_SAFE_INTEGER;

/** The outputs built as tables (under staging names, then swapped in together). */
export const IDENTITY_TABLES = ['profiles', 'identifiers', 'source_records', 'edge_keys', 'rejected_edges', 'merges'] as const;
/**
 * Every output. `edges` is a view joining `edge_keys` (pairs of integers) to the records and
 * identifiers: written as a table of text it was the costliest output by far (10.5M rows of
 * record keys, values and profile IDs that the other two tables already hold).
 */
export const IDENTITY_OUTPUTS = [...IDENTITY_TABLES, 'edges'] as const;
export type IdentityTable = (typeof IDENTITY_TABLES)[number];
export type IdentityOutput = (typeof IDENTITY_OUTPUTS)[number];

export function outputName(entity: string, output: IdentityOutput): string {
  return `${entity}_${output}`;
}

interface RawSpec {
  entity: string;
  description?: string;
  engine?: 'auto' | 'local' | 'sql';
  max_rounds?: number;
  default_max_degree?: number;
  blocklist_defaults?: boolean;
  id_types: Record<string, { normalize?: string; limit?: number; priority?: number; max_degree?: number; default_country?: string; fold_plus?: boolean; fold_gmail_dots?: boolean }>;
  blocklist?: Record<string, string[]>;
  sources: { from: string; key: string; ids: Record<string, string>; updated_at?: string }[];
  tags?: string[];
}

export function parseIdentitySpec(text: string, file: string): IdentitySpec {
  const { value: raw, validator } = loadYaml<RawSpec>(text, file, specSchema);
  if (validator.errors.length) throw validator.errors.length === 1 ? validator.errors[0] : new CdpErrors(validator.errors);
  const problems: CdpError[] = [];
  const fail = (path: (string | number)[], message: string, hint?: string) => problems.push(new CdpError(message, { location: validator.locate(path), hint }));

  const typeNames = Object.keys(raw.id_types);
  if (typeNames.length === 0) fail(['id_types'], 'id_types is empty', 'declare at least one identifier type, e.g. email: { normalize: email }');
  const idTypes: IdTypeSpec[] = typeNames.map((name) => {
    const t = raw.id_types[name] ?? {};
    const normalizer = (t.normalize ?? defaultNormalizer(name)) as NormalizerName;
    if (!NORMALIZERS.includes(normalizer)) {
      const near = didYouMean(normalizer, NORMALIZERS);
      fail(['id_types', name, 'normalize'], `unknown normaliser "${normalizer}"`, `${near ? `did you mean "${near}"? ` : ''}available: ${NORMALIZERS.join(', ')}`);
    }
    const options: NormalizeOptions = { default_country: t.default_country, fold_plus: t.fold_plus, fold_gmail_dots: t.fold_gmail_dots };
    for (const message of validateNormalizeOptions(normalizer, options as Record<string, unknown>)) fail(['id_types', name], message);
    if (t.limit !== undefined && t.max_degree !== undefined && t.max_degree < t.limit) {
      fail(['id_types', name, 'max_degree'], `max_degree (${t.max_degree}) is below limit (${t.limit})`, 'a profile may hold `limit` values of this type, so the degree cap must allow at least that many');
    }
    return {
      name, normalizer, options, limit: t.limit, priority: t.priority,
      maxDegree: t.max_degree ?? raw.default_max_degree ?? DEFAULT_MAX_DEGREE,
      blocklist: [],
    };
  });
  const priorities = new Map<number, string>();
  for (const t of idTypes) {
    if (t.priority === undefined) continue;
    const other = priorities.get(t.priority);
    if (other) fail(['id_types', t.name, 'priority'], `priority ${t.priority} is also given to "${other}"`, 'priorities decide which identifier wins when a limit is hit, so each must be unique');
    priorities.set(t.priority, t.name);
  }
  for (const [type, entries] of Object.entries(raw.blocklist ?? {})) {
    const target = idTypes.find((t) => t.name === type);
    if (!target) {
      const near = didYouMean(type, typeNames);
      fail(['blocklist', type], `blocklist names unknown identifier type "${type}"`, near ? `did you mean "${near}"?` : `declared types: ${typeNames.join(', ')}`);
      continue;
    }
    entries.forEach((entry, i) => {
      const rule = parseBlockEntry(entry);
      const problem = rule.kind === 'regex' ? validateRegex(rule.value) : undefined;
      if (problem) fail(['blocklist', type, i], problem);
      else target.blocklist.push(rule);
    });
  }
  const sources: IdentitySource[] = raw.sources.map((src, i) => {
    for (const type of Object.keys(src.ids)) {
      if (!typeNames.includes(type)) {
        const near = didYouMean(type, typeNames);
        fail(['sources', i, 'ids', type], `unknown identifier type "${type}"`, near ? `did you mean "${near}"?` : `declared types: ${typeNames.join(', ')}`);
      }
    }
    if (Object.keys(src.ids).length === 0) fail(['sources', i, 'ids'], 'a source needs at least one identifier column');
    return { from: src.from, key: src.key, ids: src.ids, updatedAt: src.updated_at, location: lazy(validator, ['sources', i, 'from']) };
  });
  const names = raw.sources.map((x) => x.from);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) fail(['sources', i, 'from'], `source "${n}" is listed twice`, 'list each model once, with all its identifier columns under ids');
  });
  if (problems.length) throw problems.length === 1 ? problems[0] : new CdpErrors(problems);

  idTypes.sort((a, b) => (a.priority ?? NO_PRIORITY) - (b.priority ?? NO_PRIORITY) || a.name.localeCompare(b.name));
  return {
    entity: raw.entity, file, engine: raw.engine ?? 'auto', maxRounds: raw.max_rounds ?? 200,
    blocklistDefaults: raw.blocklist_defaults ?? true, idTypes, sources, tags: raw.tags ?? [], description: raw.description,
    location: { file, line: 1 },
  };
}

function defaultNormalizer(typeName: string): string {
  if (/email/i.test(typeName)) return 'email';
  if (/phone|mobile/i.test(typeName)) return 'phone';
  return 'trim';
}

function lazy(validator: YamlValidator, keyPath: (string | number)[]): SourceLocation {
  let resolved: SourceLocation | undefined;
  const get = () => (resolved ??= validator.locate(keyPath));
  return {
    get file() { return get().file; },
    get line() { return get().line; },
    get column() { return get().column; },
    get key() { return get().key; },
  };
}
