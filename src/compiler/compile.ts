/**
 * Project -> Graph of compiled nodes. Never connects to a warehouse: the dialect is only
 * used to quote names.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CdpError, CdpErrors, type SourceLocation } from '../errors.js';
import { resolveTarget, type ResolvedTarget } from '../project/config.js';
import { asList, type ColumnProps, type ResourceProps, type TestDecl } from '../project/properties.js';
import { startLoadingProject, type Project, type TextFile } from '../project/project.js';
import type { ReadingOptions } from '../project/project-reading.js';
import { didYouMean } from '../project/schema.js';
import { referencedEnvVars } from '../project/secrets.js';
import { genericTestSql, parseTestTarget, splitTestEntry, testName } from '../testing/generic-tests.js';
import { dialectFor } from '../warehouse/registry.js';
import type { Dialect, Relation } from '../warehouse/types.js';
import { materializationNames, getMaterialization } from '../materializations/registry.js';
import { Graph, type GraphNode, type TestSpec } from './graph.js';
import { inlineEphemerals } from './ephemeral.js';
import { TemplateEngine, renderingFile, type ParsedTemplate, type RenderScope } from './templates.js';
import { makeTemplateScanner } from './template-scan.js';
import { HASHING_WORKER_THRESHOLD, preheatCompiledFilesWriter } from './compiled-files.js';
import { DIALECT_HELPER_NAMES, dialectHelpers, dispatchByTarget } from './dialect-helpers.js';
import type { ResolvedSource } from '../identity/pipeline.js';
import type { IdentityNodeSpec } from '../materializations/identity-graph.js';
import { goldenSelect, type GoldenNodeSpec } from '../materializations/golden-record.js';
import type { GoldenSpec } from '../golden/spec.js';
import { parseYamlText, YamlLocator } from '../project/schema.js';
import { parseSegmentSpec, type RuleSegmentSpec } from '../segments/spec.js';
import { isSegment, prepareSqlSegment, resolveRuleSegment, ruleSegmentNode, type SegmentCompileEnv, type SegmentGraphNode } from '../segments/node.js';

export interface CompileOptions {
  projectDir: string;
  target?: string;
  vars?: Record<string, unknown>;
  /** How the project's files are read (see load-worker.ts); tests use it to choose the thread. */
  loading?: Omit<ReadingOptions, 'scanner'>;
}

export interface CompiledProject {
  project: Project;
  target: ResolvedTarget;
  dialect: Dialect;
  graph: Graph;
  /** All node ids, parents first. */
  order: string[];
  vars: Record<string, unknown>;
  /** Renders a model's SQL with ephemeral parents inlined. */
  renderModel(node: GraphNode, isIncremental: boolean): string;
}

/** Helper modules are loaded once per process, whatever number of compiles run. */
const helperModuleCache = new Map<string, Promise<Record<string, unknown>>>();

async function loadHelperModule(absPath: string): Promise<Record<string, unknown>> {
  let pending = helperModuleCache.get(absPath);
  if (!pending) {
    pending = (async () => {
      if (absPath.endsWith('.ts')) {
        const { tsImport } = await import('tsx/esm/api');
        return (await tsImport(pathToFileURL(absPath).href, import.meta.url)) as Record<string, unknown>;
      }
      return (await import(pathToFileURL(absPath).href)) as Record<string, unknown>;
    })();
    helperModuleCache.set(absPath, pending);
  }
  return pending;
}

export async function compileProject(opts: CompileOptions): Promise<CompiledProject> {
  // A large project's models are read and scanned, and its property files parsed, on a worker meanwhile (see load-worker.ts).
  const loading = startLoadingProject(opts.projectDir, { ...opts.loading, scanner: makeTemplateScanner });
  const { project } = loading;
  // Property files are checked as they come in, also while the models are read.
  const properties = loading.properties();
  properties.catch(() => undefined); // awaited below
  let prepared: Awaited<ReturnType<typeof prepare>>;
  try {
    prepared = await prepare(project, opts);
  } catch (err) {
    // Problems in the property files are reported first, as they always were.
    await properties;
    throw err;
  }
  const { target, dialect, engine } = prepared;
  // Each model is parsed as soon as its text is in, while the worker reads the others.
  const templates: Parsed[] = new Array(loading.modelCount);
  await loading.models((i, file, scan) => {
    try {
      templates[i] = engine.parse(file.text, file.path, scan);
    } catch (failed) {
      templates[i] = { failed };
    }
  });
  await properties;
  // Writing many compiled files takes a worker (see compiled-files.ts): it boots while this compiles.
  if (project.models.length >= HASHING_WORKER_THRESHOLD) preheatCompiledFilesWriter();
  const vars = { ...project.config.vars, ...(opts.vars ?? {}) };
  const compiler = new Compiler(project, target, dialect, engine, vars, templates, await loadSpecModules(project));
  return compiler.compile();
}

/**
 * The modules that read identity and golden-record specs, loaded only for projects that have
 * such files: they are a sizeable share of a small compile's start-up.
 */
interface SpecModules {
  identity?: typeof import('../identity/spec.js');
  golden?: typeof import('../golden/spec.js');
}

async function loadSpecModules(project: Project): Promise<SpecModules> {
  const golden = project.specFiles.some((f) => GOLDEN_FILE.test(f.path));
  const identity = golden || project.specFiles.some((f) => IDENTITY_FILE.test(f.path));
  return {
    identity: identity ? await import('../identity/spec.js') : undefined,
    golden: golden ? await import('../golden/spec.js') : undefined,
  };
}

const IDENTITY_FILE = /\.identity\.ya?ml$/;
const GOLDEN_FILE = /\.golden\.ya?ml$/;

/** A template that failed to parse keeps its error until the compile reaches it. */
type Parsed = ParsedTemplate | { failed: unknown };

/** Everything that needs neither the models nor the property files. */
async function prepare(project: Project, opts: CompileOptions) {
  const target = resolveTarget(project.config, opts.target, { secrets: false });
  const dialect = await dialectFor(target.type);
  const engine = new TemplateEngine();
  for (const [name, fn] of Object.entries(dialectHelpers(dialect, renderingFile))) engine.registerHelper(name, fn);
  const partials = dispatchByTarget(project.partials.map((p) => [p.name, p] as [string, typeof p]), target.type);
  for (const [name, partial] of partials) engine.registerPartial(name, partial.text, partial.path);
  const helpers: [string, { fn: Handlebars.HelperDelegate; file: string }][] = [];
  for (const mod of project.helperModules) helpers.push(...(await helperModuleExports(mod.absPath, mod.path)));
  for (const [name, { fn, file }] of dispatchByTarget(helpers, target.type)) {
    if (engine.hasHelper(name)) throw new CdpError(`helper "${name}" is already defined`, { location: { file }, hint: `rename it; built-in helpers (ref, source, config, var, env, is_incremental, ${DIALECT_HELPER_NAMES.join(', ')}) cannot be replaced` });
    engine.registerHelper(name, fn);
  }
  return { target, dialect, engine };
}

/** A helper module's exported functions, each named as exported (dispatch prefixes included). */
async function helperModuleExports(absPath: string, file: string): Promise<[string, { fn: Handlebars.HelperDelegate; file: string }][]> {
  let mod: Record<string, unknown>;
  try {
    mod = await loadHelperModule(absPath);
  } catch (err) {
    throw new CdpError(`could not load helper module: ${err instanceof Error ? err.message : String(err)}`, { location: { file } });
  }
  const exported = (mod.default && typeof mod.default === 'object' ? mod.default : mod) as Record<string, unknown>;
  return Object.entries(exported)
    .filter(([, fn]) => typeof fn === 'function')
    .map(([name, fn]) => [name, { fn: fn as Handlebars.HelperDelegate, file }]);
}

class Compiler {
  private readonly graph = new Graph();
  private readonly problems: CdpError[] = [];
  private readonly byName = new Map<string, GraphNode>();
  private readonly sourceIndex = new Map<string, GraphNode>();
  private readonly secretEnvVars: Set<string>;
  private readonly ephemeralSql = new Map<string, string>();
  private anyEphemeral?: boolean;
  /** Extra relations a node publishes under their own names (identity outputs). */
  private readonly outputRelations = new Map<string, Relation>();
  /** Quoted relations: a model is referenced from many others, and quoting is regex work. */
  private readonly quotedRelations = new Map<Relation, string>();

  constructor(
    private readonly project: Project,
    private readonly target: ResolvedTarget,
    private readonly dialect: Dialect,
    private readonly engine: TemplateEngine,
    private readonly vars: Record<string, unknown>,
    /** project.models, parsed (in the same order). */
    private readonly templates: Parsed[],
    private readonly specs: SpecModules,
  ) {
    this.secretEnvVars = new Set(referencedEnvVars(readFileSync(project.config.dir + '/cdp.config.yaml', 'utf8')));
  }

  private attempt(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.collect(err);
    }
  }

  /** Keeps a problem to report with the others; anything else is rethrown. */
  private collect(err: unknown): void {
    if (err instanceof CdpErrors) this.problems.push(...err.errors);
    else if (err instanceof CdpError) this.problems.push(err);
    else throw err;
  }

  private check(): void {
    if (this.problems.length) throw this.problems.length === 1 ? this.problems[0] : new CdpErrors(this.problems);
  }

  compile(): CompiledProject {
    const props = this.indexProperties();
    this.addSources();
    this.addSeeds(props);
    this.addModels(props);
    this.check();
    this.addIdentityGraphs();
    this.check();
    this.addGoldenRecords();
    this.check();
    this.addRuleSegments();
    this.check();
    this.resolveDependencies();
    this.check();
    this.addTests(props);
    this.check();
    const ordered = this.graph.topologicalNodes();
    const order = ordered.map((n) => n.id);
    for (const node of ordered) {
      if (node.resourceType !== 'model' || !node.template) continue;
      try {
        node.compiledSql = this.renderModel(node, false);
      } catch (err) {
        this.collect(err);
      }
    }
    this.check();
    return {
      project: this.project,
      target: this.target,
      dialect: this.dialect,
      graph: this.graph,
      order,
      vars: this.vars,
      renderModel: (node, inc) => this.renderModel(node, inc),
    };
  }

  private indexProperties(): Map<string, ResourceProps> {
    const out = new Map<string, ResourceProps>();
    for (const r of this.project.resources) {
      const key = `${r.kind}:${r.name}`;
      const prior = out.get(key);
      if (prior) {
        this.problems.push(new CdpError(`${r.kind} "${r.name}" is described twice`, { location: r.location, hint: `also described at ${prior.location.file}:${prior.location.line}` }));
        continue;
      }
      out.set(key, r);
    }
    return out;
  }

  private claimName(node: GraphNode): boolean {
    const prior = this.byName.get(node.name);
    if (prior) {
      this.problems.push(new CdpError(`two resources are named "${node.name}"`, { location: node.location, hint: `the other is ${prior.path}; model and seed names must be unique` }));
      return false;
    }
    this.byName.set(node.name, node);
    return true;
  }

  private addSources(): void {
    for (const src of this.project.sources) {
      const id = `source.${src.sourceName}.${src.name}`;
      if (this.graph.nodes.has(id)) {
        this.problems.push(new CdpError(`source table ${src.sourceName}.${src.name} is declared twice`, { location: src.location }));
        continue;
      }
      const node: GraphNode = {
        id, name: `${src.sourceName}.${src.name}`, resourceType: 'source', path: src.location.file, location: src.location,
        relation: { schema: src.schema, name: src.identifier }, config: {}, tags: [], description: src.description,
        columns: src.columns, dependsOn: [], sourceName: src.sourceName,
      };
      this.graph.add(node);
      this.sourceIndex.set(`${src.sourceName}.${src.name}`, node);
    }
  }

  private addSeeds(props: Map<string, ResourceProps>): void {
    for (const file of this.project.seeds) {
      const p = props.get(`seed:${file.name}`);
      const config = { ...(p?.config ?? {}) };
      if (config.enabled === false) continue;
      const node: GraphNode = {
        id: `seed.${file.name}`, name: file.name, resourceType: 'seed', path: file.path, propertiesPath: p?.location.file, location: { file: file.path },
        relation: { schema: (config.schema as string) ?? this.project.config.seedSchema ?? this.target.schema, name: (config.alias as string) ?? file.name },
        config: { materialized: 'seed', ...config }, tags: [...asList(config.tags), ...(p?.tags ?? [])], description: p?.description,
        columns: p?.columns ?? [], dependsOn: [], seedFile: file.absPath,
      };
      if (this.claimName(node)) this.graph.add(node);
    }
    this.reportOrphans(props, 'seed');
  }

  private reportOrphans(props: Map<string, ResourceProps>, kind: 'model' | 'seed'): void {
    for (const r of props.values()) {
      if (r.kind !== kind || this.byName.get(r.name)?.resourceType === kind) continue;
      if (r.config.enabled === false) continue;
      const near = didYouMean(r.name, [...this.byName.values()].filter((n) => n.resourceType === kind).map((n) => n.name));
      this.problems.push(new CdpError(`${kind} "${r.name}" is described but there is no ${kind === 'model' ? `models/**/${r.name}.sql` : `seeds/${r.name}.csv`}`, {
        location: r.location, hint: near ? `did you mean "${near}"?` : `create the file or remove this entry`,
      }));
    }
  }

  private addModels(props: Map<string, ResourceProps>): void {
    const { models } = this.project;
    const kinds = materializationNames();
    // Tens of thousands in a large project: a loop with a try, not a closure per model.
    for (let i = 0; i < models.length; i++) {
      try {
        this.addModel(models[i], this.templates[i], props, kinds);
      } catch (err) {
        this.collect(err);
      }
    }
    this.reportOrphans(props, 'model');
  }

  private addModel(file: TextFile, parsed: Parsed, props: Map<string, ResourceProps>, kinds: string[]): void {
    const defaults = this.project.config.modelDefaults;
    if ('failed' in parsed) throw parsed.failed;
    const template = parsed;
    const p = props.get(`model:${file.name}`);
    const config: Record<string, unknown> = { materialized: defaults.materialized, ...(p?.config ?? {}), ...template.analysis.config };
    if (config.enabled === false) return;
    const configLoc: SourceLocation = template.analysis.config.materialized !== undefined
      ? { file: file.path, line: template.analysis.configLine }
      : p?.location ?? { file: file.path };
    const kind = String(config.materialized);
    const mat = kinds.includes(kind) ? getMaterialization(kind) : undefined;
    if (!mat) {
      const near = didYouMean(kind, kinds);
      throw new CdpError(`unknown materialization "${kind}"`, { location: { file: configLoc.file, line: configLoc.line, column: configLoc.column, key: 'materialized' }, hint: `${near ? `did you mean "${near}"? ` : ''}available: ${kinds.join(', ')}` });
    }
    const configTags = asList(config.tags);
    const propTags = p?.tags ?? [];
    const node: GraphNode = {
      id: `model.${file.name}`, name: file.name, resourceType: 'model', path: file.path, propertiesPath: p?.location.file, location: { file: file.path },
      relation: mat.inline ? undefined : { schema: (config.schema as string) ?? defaults.schema ?? this.target.schema, name: (config.alias as string) ?? file.name },
      config,
      // Most models have no tags: then no set is built to remove duplicates.
      tags: defaults.tags.length + configTags.length + propTags.length === 0 ? configTags : [...new Set([...defaults.tags, ...configTags, ...propTags])],
      description: p?.description, columns: p?.columns ?? [], dependsOn: [], template,
    };
    for (const problem of mat.validate?.(node) ?? []) throw new CdpError(problem, { location: configLoc });
    if (this.claimName(node)) this.graph.add(node);
  }

  /** Identity specs become one node each; their output tables are ref-able by name. */
  private addIdentityGraphs(): void {
    for (const file of this.project.specFiles.filter((f) => IDENTITY_FILE.test(f.path))) {
      const { IDENTITY_OUTPUTS, outputName, parseIdentitySpec } = this.specs.identity!;
      this.attempt(() => {
        const spec = parseIdentitySpec(file.text, file.path);
        const schema = this.project.config.modelDefaults.schema ?? this.target.schema;
        const sources: ResolvedSource[] = spec.sources.map((src) => {
          const dep = this.resolveFrom(src.from, src.location);
          if (!dep.relation) throw new CdpError(`identity source "${src.from}" is ephemeral`, { location: src.location, hint: 'materialize it as a view or table' });
          return { name: src.from, relation: dep.relation, key: src.key, ids: src.ids, updatedAt: src.updatedAt, dep: dep.id };
        });
        const node: GraphNode = {
          id: `model.${spec.entity}_identity`, name: `${spec.entity}_identity`, resourceType: 'model', path: file.path, location: { file: file.path, line: 1 },
          relation: { schema, name: outputName(spec.entity, 'profiles') },
          config: { materialized: 'identity_graph', engine: spec.engine }, tags: ['identity', ...spec.tags], description: spec.description,
          columns: [], dependsOn: [...new Set(sources.map((s) => (s as ResolvedSource & { dep: string }).dep))],
          identity: { spec, sources, stateSchema: this.project.config.stateSchema } satisfies IdentityNodeSpec,
        };
        if (!this.claimName(node)) return;
        this.graph.add(node);
        for (const output of IDENTITY_OUTPUTS) {
          const name = outputName(spec.entity, output);
          const alias: GraphNode = { ...node, name };
          if (!this.claimAlias(alias, node)) continue;
          this.outputRelations.set(name, { schema, name });
        }
      });
    }
  }

  /** Golden-record specs: one table per spec, built from an entity's identity outputs. */
  private addGoldenRecords(): void {
    for (const file of this.project.specFiles.filter((f) => GOLDEN_FILE.test(f.path))) {
      const { outputName } = this.specs.identity!;
      const { validateGoldenSpec } = this.specs.golden!;
      this.attempt(() => {
        const raw = parseYamlText(file.text, file.path) as Record<string, unknown> | null;
        const locator = new YamlLocator(file.path, file.text);
        const entity = typeof raw?.entity === 'string' ? raw.entity : '';
        const identityNode = this.graph.nodes.get(`model.${entity}_identity`);
        const ident = identityNode?.identity as IdentityNodeSpec | undefined;
        if (!identityNode || !ident) {
          const entities = [...this.graph.nodes.values()].filter((n) => n.identity).map((n) => (n.identity as IdentityNodeSpec).spec.entity);
          const near = didYouMean(entity, entities);
          throw new CdpError(`golden record names unknown entity "${entity}"`, { location: locator.locate(['entity']), hint: near ? `did you mean "${near}"?` : entities.length ? `entities: ${entities.join(', ')}` : 'declare the entity in a models/**/<entity>.identity.yml file' });
        }
        const issues = validateGoldenSpec(raw, ident.sources.map((s) => s.name));
        if (issues.length) throw new CdpErrors(issues.map((i) => new CdpError(i.message, { location: locator.locate(i.path), hint: i.hint })));
        const spec = raw as unknown as GoldenSpec;
        const schema = ident.spec && identityNode.relation!.schema;
        const sources = Object.fromEntries(ident.sources.map((s) => [s.name, { relation: s.relation, key: s.key, updatedAt: s.updatedAt }]));
        const used = new Set<string>([
          ...Object.values(spec.attributes ?? {}).flatMap((a) => Object.keys(a.from ?? {})),
          ...Object.values(spec.traits ?? {}).map((tr) => tr.from),
        ]);
        const node: GraphNode = {
          id: `model.${spec.name}`, name: spec.name, resourceType: 'model', path: file.path, location: { file: file.path, line: 1 },
          relation: { schema, name: spec.name }, config: { materialized: 'golden_record' }, tags: ['golden'], description: spec.description,
          columns: [], dependsOn: [identityNode.id, ...[...used].map((u) => this.resolveFrom(u, { file: file.path }).id)],
          golden: {
            spec, sources,
            sourceRecords: { schema, name: outputName(entity, 'source_records') },
            profiles: { schema, name: outputName(entity, 'profiles') },
          } satisfies GoldenNodeSpec,
        };
        node.dependsOn = [...new Set(node.dependsOn)];
        node.compiledSql = goldenSelect(node.golden as GoldenNodeSpec, this.dialect);
        if (this.claimName(node)) this.graph.add(node);
      });
    }
  }

  /** Segments: SQL models with `materialized: segment` get the state schema; rule specs become nodes. */
  private addRuleSegments(): void {
    const env: SegmentCompileEnv = {
      dialect: this.dialect, vars: this.vars, stateSchema: this.project.config.stateSchema,
      schema: this.project.config.modelDefaults.schema ?? this.target.schema,
      lookup: (name) => {
        const node = this.byName.get(name);
        return node && { node, relation: this.outputRelations.get(name) ?? node.relation };
      },
      names: () => this.byName.keys(),
    };
    for (const node of this.graph.nodes.values()) if (isSegment(node)) prepareSqlSegment(node, env.stateSchema);
    // Every name is claimed before any is resolved, so segments may include each other in any order.
    const specs: { node: SegmentGraphNode; spec: RuleSegmentSpec }[] = [];
    for (const file of this.project.specFiles.filter((f) => /\.segment\.ya?ml$/.test(f.path))) {
      this.attempt(() => {
        const spec = parseSegmentSpec(file.text, file.path);
        const node = ruleSegmentNode(spec, env);
        if (this.claimName(node)) specs.push({ node, spec });
      });
    }
    for (const { node, spec } of specs) {
      this.attempt(() => {
        resolveRuleSegment(node, spec, env);
        this.graph.add(node);
      });
    }
  }

  private claimAlias(alias: GraphNode, owner: GraphNode): boolean {
    const prior = this.byName.get(alias.name);
    if (prior) {
      this.problems.push(new CdpError(`"${alias.name}" is both an output of ${owner.path} and ${prior.path}`, { location: owner.location, hint: 'rename the model or the entity' }));
      return false;
    }
    this.byName.set(alias.name, owner);
    return true;
  }

  /** `from:` in specs: a model or seed name, or `source:name.table`. */
  private resolveFrom(from: string, loc: SourceLocation): GraphNode {
    const m = /^source:([^.]+)\.(.+)$/.exec(from);
    return m ? this.lookupSource(m[1], m[2], loc) : this.lookupRef(from, loc);
  }

  private lookupRef(name: string, loc: SourceLocation): GraphNode {
    const node = this.byName.get(name);
    if (node) return node;
    const near = didYouMean(name, this.byName.keys());
    throw new CdpError(`ref to unknown model or seed "${name}"`, { location: loc, hint: near ? `did you mean "${near}"?` : 'check the name against models/**/*.sql and seeds/*.csv' });
  }

  private lookupSource(source: string, table: string, loc: SourceLocation): GraphNode {
    const node = this.sourceIndex.get(`${source}.${table}`);
    if (node) return node;
    const near = didYouMean(`${source}.${table}`, this.sourceIndex.keys());
    throw new CdpError(`unknown source "${source}.${table}"`, { location: loc, hint: near ? `did you mean "${near.replace('.', '" "')}"?` : 'declare it under sources: in a models/**/*.yml file' });
  }

  private resolveDependencies(): void {
    for (const node of this.graph.nodes.values()) {
      if (node.resourceType !== 'model' || !node.template) continue;
      this.attempt(() => {
        const deps = new Set<string>();
        const { analysis } = node.template!;
        for (const r of analysis.refs) deps.add(this.lookupRef(r.name, { file: node.path, line: r.line, column: r.column }).id);
        for (const s of analysis.sources) deps.add(this.lookupSource(s.source, s.table, { file: node.path, line: s.line, column: s.column }).id);
        if (analysis.dynamic) for (const id of this.discoverByRendering(node)) deps.add(id);
        deps.delete(node.id);
        if (analysis.refs.some((r) => r.name === node.name)) {
          throw new CdpError(`model "${node.name}" refs itself`, { location: node.location, hint: 'use {{this}} to refer to the model\'s own table (e.g. in incremental models)' });
        }
        node.dependsOn = [...deps];
      });
    }
  }

  /** Dynamic refs (non-literal arguments) are found by rendering once with recording helpers. */
  private discoverByRendering(node: GraphNode): string[] {
    const found: string[] = [];
    this.engine.render(node.template!, {
      ...this.scopeFor(node, false),
      ref: (name, loc) => (found.push(this.lookupRef(name, loc).id), '__ref__'),
      source: (s, t, loc) => (found.push(this.lookupSource(s, t, loc).id), '__source__'),
    });
    return found;
  }

  private quote(rel: Relation): string {
    let quoted = this.quotedRelations.get(rel);
    if (quoted === undefined) this.quotedRelations.set(rel, (quoted = this.dialect.relation(rel)));
    return quoted;
  }

  private scopeFor(node: GraphNode, isIncremental: boolean): RenderScope {
    return {
      file: node.path,
      isIncremental,
      thisRelation: node.relation ? this.quote(node.relation) : node.name,
      ref: (name, loc) => {
        const dep = this.lookupRef(name, loc);
        if (!node.dependsOn.includes(dep.id)) {
          throw new CdpError(`ref "${name}" was not known when the DAG was built`, { location: loc, hint: 'make the ref argument a literal string, or reference it literally elsewhere in the model' });
        }
        const rel = this.outputRelations.get(name) ?? dep.relation;
        return rel ? this.quote(rel) : ephemeralCteName(dep.name);
      },
      source: (s, t, loc) => this.quote(this.lookupSource(s, t, loc).relation!),
      variable: (name, fallback, hasFallback, loc) => {
        if (name in this.vars) return this.vars[name];
        if (hasFallback) return fallback;
        const near = didYouMean(name, Object.keys(this.vars));
        throw new CdpError(`var "${name}" is not defined`, { location: loc, hint: `${near ? `did you mean "${near}"? ` : ''}define it under vars: in cdp.config.yaml, pass --vars '{${name}: ...}', or give a default: {{var "${name}" "default"}}` });
      },
      env: (name, fallback, hasFallback, loc) => {
        if (this.secretEnvVars.has(name)) {
          throw new CdpError(`env "${name}" is used as a secret in cdp.config.yaml and cannot be rendered into SQL`, { location: loc, hint: 'secrets stay in target settings; use a different variable for values that may appear in SQL' });
        }
        const value = process.env[name];
        if (value !== undefined) return value;
        if (hasFallback) return fallback;
        throw new CdpError(`environment variable ${name} is not set`, { location: loc, hint: `export ${name}=... or give a default: {{env "${name}" "default"}}` });
      },
    };
  }

  private renderModel(node: GraphNode, isIncremental: boolean): string {
    const sql = this.engine.render(node.template!, this.scopeFor(node, isIncremental));
    const ephemerals = this.ephemeralAncestors(node);
    if (ephemerals.length === 0) return sql;
    return inlineEphemerals(sql, ephemerals.map((e) => ({ name: ephemeralCteName(e.name), sql: this.ownSql(e) })));
  }

  /** An ephemeral model's own SQL, without its parents inlined (they are hoisted to the consumer). */
  private ownSql(node: GraphNode): string {
    let sql = this.ephemeralSql.get(node.id);
    if (sql === undefined) this.ephemeralSql.set(node.id, (sql = this.engine.render(node.template!, this.scopeFor(node, false))));
    return sql;
  }

  /** Ephemeral models this node reaches through other ephemerals, parents first. */
  private ephemeralAncestors(node: GraphNode): GraphNode[] {
    // Most projects have no ephemeral models: then no model has any, and the walk is skipped.
    this.anyEphemeral ??= [...this.graph.nodes.values()].some((n) => n.resourceType === 'model' && !n.relation);
    if (!this.anyEphemeral) return [];
    const out: GraphNode[] = [];
    const seen = new Set<string>();
    const visit = (n: GraphNode) => {
      for (const depId of n.dependsOn) {
        const dep = this.graph.get(depId);
        if (dep.resourceType !== 'model' || dep.relation || seen.has(dep.id)) continue;
        seen.add(dep.id);
        visit(dep);
        out.push(dep);
      }
    };
    visit(node);
    return out;
  }

  private addTests(props: Map<string, ResourceProps>): void {
    const used = new Set<string>();
    const uniqueName = (base: string) => {
      let name = base;
      for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
      used.add(name);
      return name;
    };
    const attach = (parent: GraphNode, decls: TestDecl[]) => {
      if (decls.length === 0) return;
      // Once per parent, not per test: a large project has tens of thousands of tests.
      const relation = parent.relation && this.quote(parent.relation);
      const modelPart = parent.name.replace('.', '_');
      for (const decl of decls) {
        try {
          this.addGenericTest(parent, relation, modelPart, decl, uniqueName, testSql);
        } catch (err) {
          this.collect(err);
        }
      }
    };
    /** A generic test's SQL, from what its node records (the arguments it leaves out do not change the SQL). */
    const testSql = (node: GenericTestNode): string => {
      const { test, location } = node;
      return genericTestSql({
        type: test.type, args: test.args ?? {}, column: test.column, location, dialect: this.dialect,
        relation: this.quote(this.graph.get(test.attachedTo!).relation!),
        resolveRelation: (to) => this.dialect.relation(this.testTarget(to, location).relation!),
      });
    };
    const sourceTests = new Map<string, TestDecl[]>();
    for (const s of this.project.sources) if (!sourceTests.has(`source.${s.sourceName}.${s.name}`)) sourceTests.set(`source.${s.sourceName}.${s.name}`, s.tests);
    for (const node of [...this.graph.nodes.values()]) {
      if (node.resourceType === 'source') {
        attach(node, sourceTests.get(node.id) ?? []);
      } else if (node.resourceType === 'model' || node.resourceType === 'seed') {
        attach(node, props.get(`${node.resourceType}:${node.name}`)?.tests ?? []);
      }
    }
    for (const file of this.project.singularTests) this.attempt(() => this.addSingularTest(file.name, file.path, file.text, uniqueName));
  }

  private addGenericTest(
    parent: GraphNode,
    relation: string | undefined,
    modelPart: string,
    decl: TestDecl,
    uniqueName: (base: string) => string,
    testSql: (node: GenericTestNode) => string,
  ): void {
    if (!relation) throw new CdpError(`tests cannot be attached to ephemeral model "${parent.name}"`, { location: decl.location });
    const { type, args } = splitTestEntry(decl.raw, decl.location);
    const extraDeps: string[] = [];
    // Built here only to report problems in the declaration; the node builds it again when read.
    genericTestSql({
      type, args, column: decl.column, location: decl.location, dialect: this.dialect,
      relation,
      resolveRelation: (to) => {
        const dep = this.testTarget(to, decl.location);
        extraDeps.push(dep.id);
        return this.dialect.relation(dep.relation!);
      },
    });
    const severity = args.severity ?? 'error';
    if (severity !== 'error' && severity !== 'warn') throw new CdpError(`severity must be "error" or "warn", not "${String(severity)}"`, { location: decl.location });
    const name = uniqueName(testName(type, modelPart, decl.column, args));
    this.graph.add(new GenericTestNode(
      `test.${name}`, name, decl.location.file, decl.location, TEST_CONFIG[severity], parent.tags, extraDeps.length ? [parent.id, ...extraDeps] : [parent.id],
      { kind: 'generic', type, severity, attachedTo: parent.id, column: decl.column, args: declaredArgs(args) }, testSql,
    ));
  }

  /** The model, seed or source a relationships test points at (`to:`). */
  private testTarget(to: string, location: SourceLocation): GraphNode {
    const t = parseTestTarget(to);
    const dep = 'ref' in t ? this.lookupRef(t.ref, location) : this.lookupSource(t.source, t.table, location);
    if (!dep.relation) throw new CdpError(`relationships test cannot point at ephemeral model "${dep.name}"`, { location });
    return dep;
  }

  private addSingularTest(name: string, path: string, text: string, uniqueName: (n: string) => string): void {
    const template = this.engine.parse(text, path);
    const config = template.analysis.config;
    const severity = (config.severity as string | undefined) ?? 'error';
    if (severity !== 'error' && severity !== 'warn') throw new CdpError(`severity must be "error" or "warn"`, { location: { file: path, line: template.analysis.configLine } });
    const node: GraphNode = {
      id: `test.${uniqueName(name)}`, name, resourceType: 'test', path, location: { file: path }, config: { severity },
      tags: asList(config.tags), columns: [], dependsOn: [], template,
      test: { kind: 'singular', type: 'singular', severity },
    };
    const deps = new Set<string>();
    for (const r of template.analysis.refs) deps.add(this.lookupRef(r.name, { file: path, line: r.line, column: r.column }).id);
    for (const s of template.analysis.sources) deps.add(this.lookupSource(s.source, s.table, { file: path, line: s.line, column: s.column }).id);
    node.dependsOn = [...deps];
    if (template.analysis.dynamic) node.dependsOn.push(...this.discoverByRendering(node));
    node.compiledSql = this.renderModel(node, false);
    const attached = node.dependsOn.filter((d) => this.graph.get(d).resourceType !== 'test');
    if (attached.length === 1) node.test!.attachedTo = attached[0];
    this.graph.add(node);
  }
}

/*
 * Generic tests are the most numerous nodes (two or three per model) and live for the whole
 * compile, so they share what they can: config by severity (frozen, as it is shared) and an
 * empty column list.
 */
const TEST_CONFIG = {
  error: Object.freeze({ severity: 'error' }),
  warn: Object.freeze({ severity: 'warn' }),
} as const satisfies Record<'error' | 'warn', Record<string, unknown>>;
const NO_COLUMNS = Object.freeze([]) as unknown as ColumnProps[];

/**
 * A generic test. Its SQL is built when first read rather than kept from the compile: a compile
 * never reads it (the manifest lists generic tests without SQL, and they have no compiled file),
 * and a large project has tens of thousands of them, each holding a few hundred bytes of SQL for
 * the whole compile.
 */
class GenericTestNode implements GraphNode {
  readonly resourceType = 'test';
  columns = NO_COLUMNS;
  #sql?: string;
  readonly #build: (node: GenericTestNode) => string;

  constructor(
    public id: string,
    public name: string,
    /** Tests declared in YAML are located in their YAML file. */
    public path: string,
    public location: SourceLocation,
    public config: Record<string, unknown>,
    public tags: string[],
    public dependsOn: string[],
    public test: TestSpec & { attachedTo: string },
    build: (node: GenericTestNode) => string,
  ) {
    this.#build = build;
  }

  get compiledSql(): string {
    return (this.#sql ??= this.#build(this));
  }

  set compiledSql(sql: string) {
    this.#sql = sql;
  }
}

/** A generic test's arguments worth recording: not severity (kept apart), config (flattened in) or name (the id). */
function declaredArgs(args: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in args) if (key !== 'severity' && key !== 'config' && key !== 'name') (out ??= {})[key] = args[key];
  return out;
}

export function ephemeralCteName(model: string): string {
  return `__cdp_ephemeral_${model}`;
}

export function relationOf(node: GraphNode): Relation {
  if (!node.relation) throw new Error(`${node.id} has no relation`);
  return node.relation;
}
