/**
 * Compile artifacts: `target/manifest.json` (typed, versioned) and `target/compiled/**.sql`.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledProject } from './compile.js';
import type { GraphNode } from './graph.js';

export const MANIFEST_VERSION = 'cdp/manifest/v1';

export interface ManifestNode {
  unique_id: string;
  name: string;
  resource_type: GraphNode['resourceType'];
  original_file_path: string;
  relation: { schema: string; name: string } | null;
  config: Record<string, unknown>;
  tags: string[];
  description: string | null;
  columns: { name: string; description: string | null; data_type: string | null }[];
  depends_on: string[];
  compiled_path: string | null;
  /** SHA-256 of the compiled SQL; changes when the template, vars or env inputs change. */
  checksum: string | null;
  test: GraphNode['test'] | null;
}

export interface Manifest {
  schema_version: typeof MANIFEST_VERSION;
  generated_at: string;
  project: string;
  target: { name: string; type: string; schema: string };
  vars_checksum: string;
  nodes: Record<string, ManifestNode>;
  child_map: Record<string, string[]>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Project-relative SQL file name for a node; tests declared in YAML go under their YAML file's name. */
export function sqlFileOf(node: GraphNode): string {
  return node.path.endsWith('.sql') ? node.path : `${node.path}/${node.name}.sql`;
}

export function compiledPathOf(node: GraphNode): string | null {
  return node.compiledSql === undefined ? null : `compiled/${sqlFileOf(node)}`;
}

export function buildManifest(compiled: CompiledProject): Manifest {
  const nodes: Record<string, ManifestNode> = {};
  const childMap: Record<string, string[]> = {};
  for (const id of compiled.order) {
    const n = compiled.graph.get(id);
    nodes[id] = {
      unique_id: n.id,
      name: n.name,
      resource_type: n.resourceType,
      original_file_path: n.path,
      relation: n.relation ?? null,
      config: n.config,
      tags: n.tags,
      description: n.description ?? null,
      columns: n.columns.map((c) => ({ name: c.name, description: c.description ?? null, data_type: c.dataType ?? null })),
      depends_on: n.dependsOn,
      compiled_path: compiledPathOf(n),
      checksum: n.compiledSql === undefined ? null : sha256(n.compiledSql),
      test: n.test ?? null,
    };
    childMap[id] = compiled.graph.children(id);
  }
  return {
    schema_version: MANIFEST_VERSION,
    generated_at: new Date().toISOString(),
    project: compiled.project.config.name,
    target: { name: compiled.target.name, type: compiled.target.type, schema: compiled.target.schema },
    vars_checksum: sha256(JSON.stringify(compiled.vars)),
    nodes,
    child_map: childMap,
  };
}

/** Writes the manifest and every compiled SQL file. Returns the manifest's path. */
export async function writeArtifacts(compiled: CompiledProject, targetDir: string): Promise<string> {
  const manifest = buildManifest(compiled);
  const files: [string, string][] = [];
  for (const node of compiled.graph.nodes.values()) {
    const rel = compiledPathOf(node);
    if (rel) files.push([path.join(targetDir, rel), node.compiledSql!.endsWith('\n') ? node.compiledSql! : `${node.compiledSql}\n`]);
  }
  const dirs = new Set(files.map(([f]) => path.dirname(f)));
  await mkdir(targetDir, { recursive: true });
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  // Bounded parallelism: thousands of small writes, without exhausting file handles.
  const BATCH = 256;
  for (let i = 0; i < files.length; i += BATCH) {
    await Promise.all(files.slice(i, i + BATCH).map(([f, text]) => writeFile(f, text)));
  }
  const manifestPath = path.join(targetDir, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify(manifest));
  return manifestPath;
}
