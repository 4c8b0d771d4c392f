/**
 * Finds and reads a project's files: models, singular tests, property files, seeds, macros.
 * Pure file-system work; nothing is rendered or connected here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CdpError, CdpErrors } from '../errors.js';
import { loadConfig, type ProjectConfig } from './config.js';
import { parseProperties, type ResourceProps, type SourceTableProps } from './properties.js';

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
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .sort();
}

function toProjectFile(root: string, abs: string, name: string): ProjectFile {
  return { name, path: path.relative(root, abs).split(path.sep).join('/'), absPath: abs };
}

function stripExt(file: string, ext: string): string {
  return path.basename(file).slice(0, -ext.length);
}

export function loadProject(projectDir: string): Project {
  const config = loadConfig(projectDir);
  const root = config.dir;
  const read = (f: ProjectFile): TextFile => ({ ...f, text: readFileSync(f.absPath, 'utf8') });

  const project: Project = { config, models: [], singularTests: [], seeds: [], partials: [], helperModules: [], resources: [], sources: [], specFiles: [] };
  const problems: CdpError[] = [];

  for (const abs of walk(path.join(root, 'models'))) {
    const base = path.basename(abs);
    if (base.endsWith('.test.sql')) project.singularTests.push(read(toProjectFile(root, abs, stripExt(abs, '.test.sql'))));
    else if (base.endsWith('.sql')) project.models.push(read(toProjectFile(root, abs, stripExt(abs, '.sql'))));
    else if (SPEC_SUFFIXES.some((sfx) => base.endsWith(sfx))) project.specFiles.push(read(toProjectFile(root, abs, base)));
    else if (base.endsWith('.yml') || base.endsWith('.yaml')) collectProperties(read(toProjectFile(root, abs, base)), project, problems);
  }
  for (const abs of walk(path.join(root, 'seeds'))) {
    if (abs.endsWith('.csv')) project.seeds.push(toProjectFile(root, abs, stripExt(abs, '.csv')));
    else if (abs.endsWith('.yml') || abs.endsWith('.yaml')) collectProperties(read(toProjectFile(root, abs, path.basename(abs))), project, problems);
  }
  for (const abs of walk(path.join(root, 'macros'))) {
    if (abs.endsWith('.sql')) project.partials.push(read(toProjectFile(root, abs, stripExt(abs, '.sql'))));
    else if (/\.(m?js|ts)$/.test(abs) && !abs.endsWith('.d.ts')) project.helperModules.push(toProjectFile(root, abs, path.basename(abs)));
  }
  if (problems.length) throw problems.length === 1 ? problems[0] : new CdpErrors(problems);
  return project;
}

function collectProperties(file: TextFile, project: Project, problems: CdpError[]): void {
  try {
    const props = parseProperties(file.text, file.path);
    project.resources.push(...props.resources);
    project.sources.push(...props.sources);
  } catch (err) {
    if (err instanceof CdpErrors) problems.push(...err.errors);
    else if (err instanceof CdpError) problems.push(err);
    else throw err;
  }
}
