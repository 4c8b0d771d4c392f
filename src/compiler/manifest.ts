/**
 * Compile artifacts: `target/manifest.json` (typed, versioned) and `target/compiled/**.sql`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CompiledProject } from './compile.js';
import type { GraphNode } from './graph.js';

export const MANIFEST_VERSION = 'cdp/manifest/v1';

/** Optional fields are left out when empty, which keeps a 10,000-model manifest small. */
export interface ManifestNode {
  unique_id: string;
  name: string;
  resource_type: GraphNode['resourceType'];
  original_file_path: string;
  relation?: { schema: string; name: string };
  config: Record<string, unknown>;
  tags?: string[];
  description?: string;
  columns?: { name: string; description?: string; data_type?: string }[];
  depends_on: string[];
  compiled_path?: string;
  /** SHA-256 of the compiled SQL; changes when the template, vars or env inputs change. */
  checksum?: string;
  /** Generic tests only: their SQL (other nodes have a file at compiled_path). */
  compiled_sql?: string;
  test?: GraphNode['test'];
}

export interface Manifest {
  schema_version: typeof MANIFEST_VERSION;
  generated_at: string;
  project: string;
  target: { name: string; type: string; schema: string };
  vars_checksum: string;
  nodes: Record<string, ManifestNode>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Project-relative SQL file name for a node; tests declared in YAML go under their YAML file's name. */
export function sqlFileOf(node: GraphNode): string {
  return node.path.endsWith('.sql') ? node.path : `${node.path}/${node.name}.sql`;
}

/**
 * Models and singular tests get a file each; generic tests (thousands in a large project,
 * each a few lines) carry their SQL in the manifest instead, which keeps compile fast.
 */
export function compiledPathOf(node: GraphNode): string | null {
  if (node.compiledSql === undefined || node.test?.kind === 'generic') return null;
  return `compiled/${sqlFileOf(node)}`;
}

export function buildManifest(compiled: CompiledProject): Manifest {
  const nodes: Record<string, ManifestNode> = {};
  for (const id of compiled.order) {
    const n = compiled.graph.get(id);
    nodes[id] = {
      unique_id: n.id,
      name: n.name,
      resource_type: n.resourceType,
      original_file_path: n.path,
      relation: n.relation,
      config: n.config,
      tags: n.tags.length ? n.tags : undefined,
      description: n.description,
      columns: n.columns.length ? n.columns.map((c) => ({ name: c.name, description: c.description, data_type: c.dataType })) : undefined,
      depends_on: n.dependsOn,
      compiled_path: compiledPathOf(n) ?? undefined,
      checksum: n.compiledSql === undefined ? undefined : sha256(n.compiledSql),
      compiled_sql: n.test?.kind === 'generic' ? n.compiledSql : undefined,
      test: n.test,
    };
  }
  return {
    schema_version: MANIFEST_VERSION,
    generated_at: new Date().toISOString(),
    project: compiled.project.config.name,
    target: { name: compiled.target.name, type: compiled.target.type, schema: compiled.target.schema },
    vars_checksum: sha256(JSON.stringify(compiled.vars)),
    nodes,
  };
}

const INDEX_FILE = '.checksums.json';

/**
 * The compiled files already on disk whose content matches the index the previous compile
 * left, so a warm compile of a large project rewrites only what changed.
 */
function unchangedFiles(compiledDir: string): Map<string, string> {
  const out = new Map<string, string>();
  let index: Record<string, string>;
  try {
    index = JSON.parse(readFileSync(path.join(compiledDir, INDEX_FILE), 'utf8')) as Record<string, string>;
  } catch {
    return out; // no index yet (or unreadable): every file is written
  }
  const present = new Set<string>();
  for (const e of readdirSync(compiledDir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) present.add(`${e.parentPath}${path.sep}${e.name}`);
  }
  const prefix = compiledDir + path.sep;
  for (const [file, sum] of Object.entries(index)) if (present.has(prefix + file.split('/').join(path.sep))) out.set(file, sum);
  return out;
}

/**
 * Writes the compiled SQL files and then the manifest. Returns the manifest's path.
 */
export async function writeArtifacts(compiled: CompiledProject, targetDir: string): Promise<string> {
  const manifest = buildManifest(compiled);
  const manifestPath = path.join(targetDir, 'manifest.json');
  const compiledDir = path.join(targetDir, 'compiled');
  mkdirSync(compiledDir, { recursive: true });
  const previous = unchangedFiles(compiledDir);
  const index: Record<string, string> = {};
  const madeDirs = new Set<string>();
  for (const node of compiled.graph.nodes.values()) {
    const entry = manifest.nodes[node.id];
    if (!entry?.compiled_path || !entry.checksum) continue;
    const rel = entry.compiled_path.slice('compiled/'.length);
    index[rel] = entry.checksum;
    if (previous.get(rel) === entry.checksum) continue;
    const file = path.join(compiledDir, rel);
    const dir = path.dirname(file);
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    writeFileSync(file, node.compiledSql!.endsWith('\n') ? node.compiledSql! : `${node.compiledSql}\n`);
  }
  writeFileSync(path.join(compiledDir, INDEX_FILE), JSON.stringify(index));
  // Written last and atomically: a manifest never describes files that are not there.
  const tmp = `${manifestPath}.tmp`;
  writeFileSync(tmp, JSON.stringify(manifest));
  renameSync(tmp, manifestPath);
  return manifestPath;
}
