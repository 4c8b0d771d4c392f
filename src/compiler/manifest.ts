/**
 * Compile artifacts: `target/manifest.json` (typed, versioned) and `target/compiled/**.sql`.
 *
 * Manifest v2 keeps generic tests apart from the other nodes, in `generic_tests`, as compact
 * references to the node and column they check: a large project has two or three of them per
 * model, and in v1 each repeated its SQL, config, tags and file, which made them two thirds of
 * the file and of the time spent writing it.
 */
import crypto from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { startWritingCompiledFiles, type CompiledFile } from './compiled-files.js';
import type { CompiledProject } from './compile.js';
import type { GraphNode } from './graph.js';

export const MANIFEST_VERSION = 'cdp/manifest/v2';

/** Models, seeds, sources and singular tests. Optional fields are left out when empty. */
export interface ManifestNode {
  unique_id: string;
  name: string;
  resource_type: GraphNode['resourceType'];
  original_file_path: string;
  /**
   * Models and seeds described in a properties file: that file. Their generic tests are
   * declared there (a source's, in its original_file_path).
   */
  properties_path?: string;
  relation?: { schema: string; name: string };
  config: Record<string, unknown>;
  tags?: string[];
  description?: string;
  columns?: { name: string; description?: string; data_type?: string }[];
  depends_on: string[];
  compiled_path?: string;
  /** SHA-256 of the compiled file's SQL; changes when the template, vars or env inputs change. */
  checksum?: string;
  /** Singular tests only. */
  test?: { severity: 'error' | 'warn'; attached_to?: string };
}

/**
 * A generic test (`not_null`, `unique`, ... declared in YAML), keyed by its id in
 * `generic_tests`. Its SQL follows from the type, the arguments and the attached node's
 * relation; its tags are the attached node's.
 */
export interface ManifestGenericTest {
  type: string;
  /** The model, seed or source under test. */
  attached_to: string;
  column?: string;
  /** Left out when `error`. */
  severity?: 'warn';
  /** The test's arguments as declared (e.g. `values`, `where`), when it has any besides severity. */
  args?: Record<string, unknown>;
  /** Left out when the test depends on attached_to alone (only relationships tests add one). */
  depends_on?: string[];
}

export interface Manifest {
  schema_version: typeof MANIFEST_VERSION;
  generated_at: string;
  project: string;
  target: { name: string; type: string; schema: string };
  vars_checksum: string;
  /** In dependency order, parents first. */
  nodes: Record<string, ManifestNode>;
  /** In dependency order too. */
  generic_tests: Record<string, ManifestGenericTest>;
}

// One-shot hashing (Node 20.12+) skips a Hash object per file; thousands of files add up.
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const sha256 = oneShot ? (s: string) => oneShot('sha256', s) : (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** Project-relative SQL file name for a node; tests declared in YAML go under their YAML file's name. */
export function sqlFileOf(node: GraphNode): string {
  return node.path.endsWith('.sql') ? node.path : `${node.path}/${node.name}.sql`;
}

const isGenericTest = (node: GraphNode) => node.test?.kind === 'generic';

/**
 * Models and singular tests get a file each; generic tests (thousands in a large project,
 * each a few lines) are compiled when they run, and listed compactly in the manifest.
 */
export function compiledPathOf(node: GraphNode): string | null {
  // Generic tests first: reading their SQL would build it (see GenericTestNode).
  if (isGenericTest(node) || node.compiledSql === undefined) return null;
  return `compiled/${sqlFileOf(node)}`;
}

function manifestNode(n: GraphNode, checksum: string | undefined): ManifestNode {
  return {
    unique_id: n.id,
    name: n.name,
    resource_type: n.resourceType,
    original_file_path: n.path,
    properties_path: n.propertiesPath,
    relation: n.relation,
    config: n.config,
    tags: n.tags.length ? n.tags : undefined,
    description: n.description,
    columns: n.columns.length ? n.columns.map((c) => ({ name: c.name, description: c.description, data_type: c.dataType })) : undefined,
    depends_on: n.dependsOn,
    compiled_path: compiledPathOf(n) ?? undefined,
    checksum: n.compiledSql === undefined ? undefined : checksum ?? sha256(n.compiledSql),
    test: n.test ? { severity: n.test.severity, attached_to: n.test.attachedTo } : undefined,
  };
}

function genericTest(n: GraphNode): ManifestGenericTest {
  const t = n.test!;
  return {
    type: t.type,
    attached_to: t.attachedTo!,
    column: t.column,
    severity: t.severity === 'warn' ? 'warn' : undefined,
    args: t.args,
    depends_on: n.dependsOn.length === 1 && n.dependsOn[0] === t.attachedTo ? undefined : n.dependsOn,
  };
}

function manifestHeader(compiled: CompiledProject): Omit<Manifest, 'nodes' | 'generic_tests'> {
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
  const tests: Record<string, ManifestGenericTest> = {};
  for (const id of compiled.order) {
    const n = compiled.graph.get(id);
    if (isGenericTest(n)) tests[id] = genericTest(n);
    else nodes[id] = manifestNode(n, checksums.get(id));
  }
  return { ...manifestHeader(compiled), nodes, generic_tests: tests };
}

const NODES_PER_CHUNK = 512;

/** The members of a JSON object holding `entry(n)` under each node's id, a chunk at a time. */
function* jsonMembers<T>(nodes: GraphNode[], entry: (n: GraphNode) => T): Generator<string> {
  for (let from = 0; from < nodes.length; from += NODES_PER_CHUNK) {
    const chunk: Record<string, T> = {};
    for (let i = from; i < Math.min(from + NODES_PER_CHUNK, nodes.length); i++) chunk[nodes[i].id] = entry(nodes[i]);
    const json = JSON.stringify(chunk);
    yield from === 0 ? json.slice(1, -1) : `,${json.slice(1, -1)}`;
  }
}

/**
 * The manifest as JSON, in pieces that concatenate to exactly
 * `JSON.stringify(buildManifest(...))`. Serialised a few hundred nodes at a time: the objects
 * describing each chunk, and each chunk's text, are then short-lived garbage, instead of tens
 * of thousands of objects that the garbage collector copies before one big serialisation,
 * and a 10 MB string copied once more to be written.
 */
export function* manifestJson(compiled: CompiledProject, nodes: GraphNode[], checksums = new Map<string, string>()): Generator<string> {
  const parts = manifestParts(compiled, nodes);
  yield parts.head;
  yield* parts.nodes(checksums);
  yield* parts.genericTests;
  yield parts.tail;
}

/** The manifest's JSON in its parts, in order; the generic tests' part needs no checksums, and can be written first. */
function manifestParts(compiled: CompiledProject, nodes: GraphNode[]) {
  const head = JSON.stringify({ ...manifestHeader(compiled), nodes: {}, generic_tests: {} });
  return {
    // head ends with `"nodes":{},"generic_tests":{}}`.
    head: `${head.slice(0, -'"nodes":{},"generic_tests":{}}'.length)}"nodes":{`,
    nodes: (checksums: Map<string, string>) => jsonMembers(nodes.filter((n) => !isGenericTest(n)), (n) => manifestNode(n, checksums.get(n.id))),
    genericTests: (function* () {
      yield '},"generic_tests":{';
      yield* jsonMembers(nodes.filter(isGenericTest), genericTest);
    })(),
    tail: '}}',
  };
}

/**
 * Writes the compiled SQL files and then the manifest. Returns the manifest's path. Many files
 * are hashed and written by a worker while the manifest is serialised, and then by this thread
 * as well (see compiled-files.ts).
 */
export async function writeArtifacts(compiled: CompiledProject, targetDir: string): Promise<string> {
  const manifestPath = path.join(targetDir, 'manifest.json');
  const nodes = compiled.order.map((id) => compiled.graph.get(id));
  const withFiles: GraphNode[] = [];
  const files: CompiledFile[] = [];
  for (const node of nodes) {
    const compiledPath = compiledPathOf(node);
    if (compiledPath === null) continue;
    withFiles.push(node);
    files.push({ rel: compiledPath.slice('compiled/'.length), sql: node.compiledSql! });
  }
  const writing = startWritingCompiledFiles(path.join(targetDir, 'compiled'), files);
  // The manifest is written to a temporary file meanwhile, and put in place last and
  // atomically: a manifest never describes files that are not there.
  // Named for this call: two compiles of one project at once must not rename each other's file.
  const tmp = `${manifestPath}.${process.pid}-${++manifestWrites}.tmp`;
  mkdirSync(targetDir, { recursive: true });
  try {
    const parts = manifestParts(compiled, nodes);
    // The generic tests' part first, while the files are hashed.
    const tests = [...parts.genericTests];
    const sums = await writing.checksums;
    const checksums = new Map<string, string>();
    for (let i = 0; i < withFiles.length; i++) checksums.set(withFiles[i].id, sums[i]);
    const fd = openSync(tmp, 'w');
    try {
      writeFully(fd, parts.head);
      for (const piece of parts.nodes(checksums)) writeFully(fd, piece);
      for (const piece of tests) writeFully(fd, piece);
      writeFully(fd, parts.tail);
    } finally {
      closeSync(fd);
    }
    await writing.finish();
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, manifestPath);
  return manifestPath;
}

let manifestWrites = 0;

function writeFully(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
}
