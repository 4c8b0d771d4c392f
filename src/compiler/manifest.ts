/**
 * Compile artifacts: `target/manifest.json` (typed, versioned) and `target/compiled/**.sql`.
 */
import crypto from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeCompiledFiles, type CompiledFile } from './compiled-files.js';
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
  /**
   * SHA-256 of the compiled file's SQL; changes when the template, vars or env inputs change.
   * Generic tests have none: their SQL is right there in compiled_sql.
   */
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

// One-shot hashing (Node 20.12+) skips a Hash object per file; thousands of files add up.
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const sha256 = oneShot ? (s: string) => oneShot('sha256', s) : (s: string) => crypto.createHash('sha256').update(s).digest('hex');

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

function manifestNode(n: GraphNode, checksum: string | undefined): ManifestNode {
  return {
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
    checksum: n.compiledSql === undefined || n.test?.kind === 'generic' ? undefined : checksum ?? sha256(n.compiledSql),
    compiled_sql: n.test?.kind === 'generic' ? n.compiledSql : undefined,
    test: n.test,
  };
}

function manifestHeader(compiled: CompiledProject): Omit<Manifest, 'nodes'> {
  return {
    schema_version: MANIFEST_VERSION,
    generated_at: new Date().toISOString(),
    project: compiled.project.config.name,
    target: { name: compiled.target.name, type: compiled.target.type, schema: compiled.target.schema },
    vars_checksum: sha256(JSON.stringify(compiled.vars)),
  };
}

/** `checksums` holds those already computed, by node id. */
export function buildManifest(compiled: CompiledProject, checksums = new Map<string, string>()): Manifest {
  const nodes: Record<string, ManifestNode> = {};
  for (const id of compiled.order) nodes[id] = manifestNode(compiled.graph.get(id), checksums.get(id));
  return { ...manifestHeader(compiled), nodes };
}

const NODES_PER_CHUNK = 512;

/**
 * The manifest as JSON, byte for byte `JSON.stringify(buildManifest(...))`, serialised a few
 * hundred nodes at a time: the objects describing each chunk are then short-lived garbage,
 * instead of tens of thousands of objects that the garbage collector copies before the one
 * big serialisation at the end.
 */
function manifestJson(compiled: CompiledProject, nodes: GraphNode[], checksums: Map<string, string>): string {
  const head = JSON.stringify({ ...manifestHeader(compiled), nodes: {} });
  const parts: string[] = [];
  for (let from = 0; from < nodes.length; from += NODES_PER_CHUNK) {
    const chunk: Record<string, ManifestNode> = {};
    for (const n of nodes.slice(from, from + NODES_PER_CHUNK)) chunk[n.id] = manifestNode(n, checksums.get(n.id));
    parts.push(JSON.stringify(chunk).slice(1, -1));
  }
  // head ends with `"nodes":{}}`.
  return `${head.slice(0, -2)}${parts.join(',')}}}`;
}

/**
 * Writes the compiled SQL files and then the manifest. Returns the manifest's path. The files
 * are written (in a worker, for large projects) while the manifest is built and serialised.
 */
export async function writeArtifacts(compiled: CompiledProject, targetDir: string): Promise<string> {
  const manifestPath = path.join(targetDir, 'manifest.json');
  const nodes = compiled.order.map((id) => compiled.graph.get(id));
  const checksums = new Map<string, string>();
  const files: CompiledFile[] = [];
  for (const node of nodes) {
    const compiledPath = compiledPathOf(node);
    if (compiledPath === null) continue;
    const checksum = sha256(node.compiledSql!);
    checksums.set(node.id, checksum);
    files.push({ rel: compiledPath.slice('compiled/'.length), sql: node.compiledSql!, checksum });
  }
  const writing = writeCompiledFiles(path.join(targetDir, 'compiled'), files);
  // A failed write must not leave an unhandled rejection while the manifest is being built.
  writing.catch(() => undefined);
  const json = manifestJson(compiled, nodes, checksums);
  await writing;
  // Written last and atomically: a manifest never describes files that are not there.
  const tmp = `${manifestPath}.tmp`;
  writeFileSync(tmp, json);
  renameSync(tmp, manifestPath);
  return manifestPath;
}
