/**
 * `cdp.config.yaml`: project name, targets (warehouses), schemas, vars and defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CdpError, CdpErrors } from '../errors.js';
import { loadYaml, s, type Schema, type YamlValidator } from './schema.js';
import { SECRET_REF, registerSecret } from './secrets.js';

export const CONFIG_FILE = 'cdp.config.yaml';

const identifier = s.str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'use letters, digits and underscores, starting with a letter' });
const secret = s.str({ secret: true, pattern: /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/, patternHint: 'secrets are written only as references, e.g. password: ${env:PGPASSWORD}' });

const common = { type: s.str(), schema: identifier, threads: s.int(1) };

export const TARGET_SCHEMAS: Record<string, Schema> = {
  duckdb: s.obj({
    ...common, path: s.str(),
    memory_limit: s.str({ pattern: /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, patternHint: 'a size such as 256MB or 2GiB' }),
  }),
  postgres: s.obj({ ...common, host: s.str(), port: s.int(1), user: s.str(), password: secret, database: s.str() }),
  bigquery: s.obj({ ...common, project: s.str(), dataset: identifier, location: s.str(), keyfile: s.str(), maximum_bytes_billed: s.int(0), api_endpoint: s.str() }),
  snowflake: s.obj({
    ...common, account: s.str(), user: s.str(), password: secret, private_key_path: s.str(), private_key_passphrase: secret,
    role: s.str(), warehouse: s.str(), database: s.str(), access_url: s.str(),
  }),
};

const MATERIALIZED_DEFAULT = 'view';

const configSchema = s.obj(
  {
    name: identifier,
    version: s.int(1),
    target: s.str(),
    targets: s.map(s.tagged('type', TARGET_SCHEMAS)),
    schema: identifier,
    state_schema: identifier,
    threads: s.int(1),
    vars: s.map(s.any()),
    models: s.obj({ materialized: s.str(), schema: identifier, tags: s.arr(s.str()) }),
    seeds: s.obj({ schema: identifier }),
    destinations: s.map(s.any()),
  },
  ['name'],
);

export interface RawTarget {
  type: string;
  schema?: string;
  threads?: number;
  [key: string]: unknown;
}

export interface ProjectConfig {
  dir: string;
  file: string;
  name: string;
  defaultTarget: string;
  targets: Record<string, RawTarget>;
  schema: string;
  stateSchema: string;
  threads: number;
  vars: Record<string, unknown>;
  modelDefaults: { materialized: string; schema?: string; tags: string[] };
  seedSchema?: string;
  destinations: Record<string, unknown>;
  validator: YamlValidator;
}

interface RawConfig {
  name: string;
  target?: string;
  targets?: Record<string, RawTarget>;
  schema?: string;
  state_schema?: string;
  threads?: number;
  vars?: Record<string, unknown>;
  models?: { materialized?: string; schema?: string; tags?: string[] };
  seeds?: { schema?: string };
  destinations?: Record<string, unknown>;
}

export function loadConfig(projectDir: string): ProjectConfig {
  const file = path.join(projectDir, CONFIG_FILE);
  const rel = path.relative(process.cwd(), file) || CONFIG_FILE;
  if (!existsSync(file)) {
    throw new CdpError(`no ${CONFIG_FILE} in ${path.resolve(projectDir)}`, {
      hint: 'run cdp in a project directory, pass --project-dir DIR, or create a project with `cdp init DIR`',
    });
  }
  const { value: raw, validator } = loadYaml<RawConfig>(readFileSync(file, 'utf8'), rel, configSchema);
  if (validator.errors.length) throw new CdpErrors(validator.errors);

  // A project with no targets runs on an embedded DuckDB file, so a fresh project needs no set-up.
  const targets = raw.targets && Object.keys(raw.targets).length ? raw.targets : { dev: { type: 'duckdb' } };
  const defaultTarget = raw.target ?? Object.keys(targets)[0];
  if (!targets[defaultTarget]) {
    throw new CdpError(`default target "${defaultTarget}" is not defined under targets`, {
      location: validator.locate(['target']),
      hint: `defined targets: ${Object.keys(targets).join(', ')}`,
    });
  }
  return {
    dir: path.resolve(projectDir),
    file: rel,
    name: raw.name,
    defaultTarget,
    targets,
    schema: raw.schema ?? 'analytics',
    stateSchema: raw.state_schema ?? 'cdp_state',
    threads: raw.threads ?? 4,
    vars: raw.vars ?? {},
    modelDefaults: { materialized: raw.models?.materialized ?? MATERIALIZED_DEFAULT, schema: raw.models?.schema, tags: raw.models?.tags ?? [] },
    seedSchema: raw.seeds?.schema,
    destinations: raw.destinations ?? {},
    validator,
  };
}

export interface ResolvedTarget {
  name: string;
  type: string;
  schema: string;
  threads: number;
  /** Connection settings with `${env:...}` references resolved. Never print this. */
  settings: Record<string, unknown>;
  /** The same settings as written, references intact: safe to display. */
  display: Record<string, unknown>;
}

/** Picks a target and resolves its secret references from the environment. */
export function resolveTarget(config: ProjectConfig, name: string | undefined, opts: { secrets?: boolean; env?: NodeJS.ProcessEnv } = {}): ResolvedTarget {
  const env = opts.env ?? process.env;
  const targetName = name ?? config.defaultTarget;
  const raw = config.targets[targetName];
  if (!raw) {
    throw new CdpError(`unknown target "${targetName}"`, {
      location: { file: config.file },
      hint: `defined targets: ${Object.keys(config.targets).join(', ')}`,
    });
  }
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    // `cdp compile` never connects, so it must not require secrets to be set.
    const resolve = typeof value === 'string' && opts.secrets !== false;
    settings[key] = resolve ? resolveRefs(value, config, ['targets', targetName, key], env) : value;
  }
  if (raw.type === 'duckdb') {
    settings.path = path.resolve(config.dir, (raw.path as string | undefined) ?? path.join('.cdp', `${targetName}.duckdb`));
  }
  // Key files are named relative to the project, wherever cdp runs from.
  for (const key of ['keyfile', 'private_key_path']) {
    if (typeof settings[key] === 'string') settings[key] = path.resolve(config.dir, settings[key] as string);
  }
  return {
    name: targetName,
    type: raw.type,
    // On BigQuery a dataset is the schema.
    schema: raw.schema ?? (raw.dataset as string | undefined) ?? config.schema,
    threads: raw.threads ?? config.threads,
    settings,
    display: { ...raw },
  };
}

/**
 * Resolves `${env:...}` references in a nested config value (e.g. a destination entry).
 * With `secrets: false` the references stay in place, for checks that must not need them.
 */
export function resolveSecretRefs<T>(value: T, config: ProjectConfig, keyPath: string[], opts: { secrets?: boolean; env?: NodeJS.ProcessEnv } = {}): T {
  if (opts.secrets === false) return value;
  const env = opts.env ?? process.env;
  if (typeof value === 'string') return resolveRefs(value, config, keyPath, env) as T;
  if (Array.isArray(value)) return value.map((v, i) => resolveSecretRefs(v, config, [...keyPath, String(i)], opts)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecretRefs(v, config, [...keyPath, k], opts)])) as T;
  }
  return value;
}

function resolveRefs(value: string, config: ProjectConfig, keyPath: string[], env: NodeJS.ProcessEnv): string {
  return value.replace(SECRET_REF, (_m, varName: string) => {
    const resolved = env[varName];
    if (resolved === undefined) {
      throw new CdpError(`environment variable ${varName} is not set`, {
        location: config.validator.locate(keyPath),
        hint: `export ${varName}=... before running cdp`,
      });
    }
    registerSecret(resolved);
    return resolved;
  });
}
