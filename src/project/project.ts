/**
 * Finds and reads a project's files: models, singular tests, property files, seeds, macros.
 * Pure file-system work; nothing is rendered or connected here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CdpError, CdpErrors } from '../errors.js';
import { loadConfig, type ProjectConfig } from './config.js';
import { parseProperties, type ResourceProps, type SourceTableProps } from './properties.js';
import { yamlSyntaxError } from './schema.js';
import { readErrorOf, type ParsedYamlFile, type TextScan } from './load-worker.js';
import { startReadingProject, type ProjectReading, type ReadingOptions } from './project-reading.js';

export interface ProjectFile {
  name: string;
  /** Project-relative path with forward slashes. */
  path: string;
  absPath: string;
}

export interface TextFile extends ProjectFile {
  text: string;
}

export interface Project {
  config: ProjectConfig;
  models: TextFile[];
  singularTests: TextFile[];
  seeds: ProjectFile[];
  partials: TextFile[];
  helperModules: ProjectFile[];
  resources: ResourceProps[];
  sources: SourceTableProps[];
  /** Other YAML files under models/ that later stages (identity, segments) claim by suffix. */
  specFiles: TextFile[];
}

const SPEC_SUFFIXES = ['.identity.yml', '.identity.yaml', '.golden.yml', '.golden.yaml', '.segment.yml', '.segment.yaml'];

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files.push(`${e.parentPath ?? (e as unknown as { path: string }).path}${path.sep}${e.name}`);
  }
  return files.sort();
}

/** `abs` is under `root` (walk lists files below it), so its relative path is a suffix. */
function toProjectFile(root: string, abs: string, name: string): ProjectFile {
  const rel = abs.slice(root.endsWith(path.sep) ? root.length : root.length + 1);
  return { name, path: path.sep === '/' ? rel : rel.split(path.sep).join('/'), absPath: abs };
}

function stripExt(file: string, ext: string): string {
  return path.basename(file).slice(0, -ext.length);
}

/** `ext` is stripped from the file name to name the resource (models, singular tests, partials, seeds). */
interface Step {
  kind: 'singular' | 'model' | 'partial' | 'spec' | 'properties' | 'seed' | 'helper';
  abs: string;
  ext?: string;
}


/** The project's files in the order they are processed, with what each one is. */
function plan(root: string): Step[] {
  const steps: Step[] = [];
  for (const abs of walk(path.join(root, 'models'))) {
    const base = path.basename(abs);
    if (base.endsWith('.test.sql')) steps.push({ kind: 'singular', abs, ext: '.test.sql' });
    else if (base.endsWith('.sql')) steps.push({ kind: 'model', abs, ext: '.sql' });
    else if (SPEC_SUFFIXES.some((sfx) => base.endsWith(sfx))) steps.push({ kind: 'spec', abs });
    else if (base.endsWith('.yml') || base.endsWith('.yaml')) steps.push({ kind: 'properties', abs });
  }
  for (const abs of walk(path.join(root, 'seeds'))) {
    if (abs.endsWith('.csv')) steps.push({ kind: 'seed', abs, ext: '.csv' });
    else if (abs.endsWith('.yml') || abs.endsWith('.yaml')) steps.push({ kind: 'properties', abs });
  }
  for (const abs of walk(path.join(root, 'macros'))) {
    if (abs.endsWith('.sql')) steps.push({ kind: 'partial', abs, ext: '.sql' });
    else if (/\.(m?js|ts)$/.test(abs) && !abs.endsWith('.d.ts')) steps.push({ kind: 'helper', abs });
  }
  return steps;
}

export function loadProject(projectDir: string): Project {
  const config = loadConfig(projectDir);
  const steps = plan(config.dir);
  const project = readFiles(config, steps);
  addProperties(project, propertyFiles(config.dir, steps));
  return project;
}

/** A project being loaded: see startLoadingProject. */
export interface ProjectLoading {
  /** Every file but the models (until `models()` resolves) and the properties (until `properties()` does). */
  project: Project;
  /** How many model files there are. */
  modelCount: number;
  /**
   * Reads the model files into `project.models`, calling `onModel` with each one (its index
   * there, and what the scanner made of it, when one was given) as soon as its text is in, in no
   * particular order. Resolves with how many were read on the worker; rejects as loadProject
   * would for a file it cannot read. Call it once.
   */
  models(onModel?: (index: number, file: TextFile, scan?: TextScan) => void): Promise<number>;
  /**
   * Adds the property files' resources and sources; rejects with what loadProject would throw
   * for them. Call it early: each file is checked as soon as the worker has parsed it, also while
   * `models()` runs.
   */
  properties(): Promise<void>;
}

/**
 * As loadProject, but a large project's model files are read (and scanned, with
 * `opts.scanner`) and its property files parsed partly on a worker thread (see
 * load-worker.ts), while the caller gets on with its own preparation and handles each model as
 * it comes in.
 */
export function startLoadingProject(projectDir: string, opts: ReadingOptions = {}): ProjectLoading {
  const config = loadConfig(projectDir);
  const steps = plan(config.dir);
  const files = propertyFiles(config.dir, steps);
  let bytes = 0;
  for (const f of files) bytes += statSync(f.absPath).size;
  const modelSteps = steps.filter((s) => s.kind === 'model');
  const reading = startReadingProject(modelSteps.map((s) => s.abs), files.map((f) => ({ abs: f.absPath, rel: f.path })), bytes, opts);
  const project = readFiles(config, steps, false);
  let properties: Promise<void> | undefined;
  return {
    project,
    modelCount: modelSteps.length,
    async models(onModel) {
      const models: TextFile[] = new Array(modelSteps.length);
      const fromWorker = await reading.readTexts((i, text, scan) => {
        const step = modelSteps[i];
        const file: TextFile = { ...toProjectFile(config.dir, step.abs, stripExt(step.abs, step.ext!)), text };
        models[i] = file;
        onModel?.(i, file, scan);
      });
      project.models = models;
      return fromWorker;
    },
    properties: () => (properties ??= readProperties(project, files, reading)),
  };
}

/** Read options as one constant object: Node copies an options string into a new object per call. */
const UTF8 = { encoding: 'utf8', flag: 'r' } as const;

/** Reads every file the project's steps name, except property files (see addProperties) and, unless `models`, model files. */
function readFiles(config: ProjectConfig, steps: Step[], models = true): Project {
  const root = config.dir;
  const project: Project = { config, models: [], singularTests: [], seeds: [], partials: [], helperModules: [], resources: [], sources: [], specFiles: [] };
  for (const step of steps) {
    const { abs } = step;
    if (step.kind === 'properties' || (step.kind === 'model' && !models)) continue;
    if (step.kind === 'seed') {
      project.seeds.push(toProjectFile(root, abs, stripExt(abs, step.ext!)));
      continue;
    }
    if (step.kind === 'helper') {
      project.helperModules.push(toProjectFile(root, abs, path.basename(abs)));
      continue;
    }
    const text = readFileSync(abs, UTF8);
    if (step.kind === 'spec') {
      project.specFiles.push({ ...toProjectFile(root, abs, path.basename(abs)), text });
    } else {
      const file: TextFile = { ...toProjectFile(root, abs, stripExt(abs, step.ext!)), text };
      if (step.kind === 'singular') project.singularTests.push(file);
      else if (step.kind === 'model') project.models.push(file);
      else project.partials.push(file);
    }
  }
  return project;
}

function propertyFiles(root: string, steps: Step[]): ProjectFile[] {
  return steps.filter((s) => s.kind === 'properties').map((s) => toProjectFile(root, s.abs, path.basename(s.abs)));
}

/** Adds the property files' resources and sources to the project, in file order; throws every problem found. */
function addProperties(project: Project, files: ProjectFile[]): void {
  const problems: CdpError[] = [];
  for (const file of files) addPropertiesFile(project, file, undefined, problems);
  throwProblems(problems);
}

/** As addProperties, taking each file as soon as `reading` has it (see project-reading.ts). */
async function readProperties(project: Project, files: ProjectFile[], reading: ProjectReading): Promise<void> {
  const problems: CdpError[] = [];
  await reading.readYaml((i, result) => addPropertiesFile(project, files[i], result, problems));
  throwProblems(problems);
}

/**
 * Adds one property file's resources and sources to the project, or its problems to
 * `problems`. `result` holds the file as it was read and parsed elsewhere, if it was.
 */
function addPropertiesFile(project: Project, file: ProjectFile, result: ParsedYamlFile | undefined, problems: CdpError[]): void {
  if (result && 'readError' in result) throw readErrorOf(result.readError);
  const text = result ? result.text : readFileSync(file.absPath, 'utf8');
  try {
    if (result && 'syntaxError' in result) throw yamlSyntaxError(file.path, result.syntaxError);
    const props = parseProperties(text, file.path, result);
    for (const r of props.resources) project.resources.push(r);
    for (const s of props.sources) project.sources.push(s);
  } catch (err) {
    if (err instanceof CdpErrors) problems.push(...err.errors);
    else if (err instanceof CdpError) problems.push(err);
    else throw err;
  }
}

function throwProblems(problems: CdpError[]): void {
  if (problems.length) throw problems.length === 1 ? problems[0] : new CdpErrors(problems);
}
