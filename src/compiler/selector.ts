/**
 * Node selection with dbt's grammar (`--select` / `--exclude`).
 *
 * A CLI argument holds space-separated terms (union); a term holds comma-separated atoms
 * (intersection); an atom is `[@][N+]method:value[+N]`. Graph operators bind to the atom they
 * decorate, so `+tag:a,config.materialized:table` intersects "tag a and its ancestors" with
 * "tables". Matching nothing is not an error: the caller decides whether to warn.
 */

import { closest, distance } from 'fastest-levenshtein';
import { CdpError } from '../errors.js';

export type ResourceType = 'model' | 'seed' | 'test' | 'source';

export interface SelectableNode {
  /** Unique id, e.g. `model.stg_orders`, `seed.raw_orders`, `test.not_null_stg_orders_id`. */
  id: string;
  name: string;
  resourceType: ResourceType;
  /** Project-relative file path with forward slashes. */
  path: string;
  tags: string[];
  config: Record<string, unknown>;
  /** For sources: `raw` of source `raw.contacts`. */
  sourceName?: string;
  /** Ids of direct parents. Ids missing from the graph are ignored. */
  dependsOn: string[];
}

export interface SelectableGraph {
  nodes: Map<string, SelectableNode>;
}

export type SelectorMethod = 'name' | 'path' | 'tag' | 'config' | 'resource_type' | 'source';

export interface SelectorAtom {
  /** The atom as written, operators included. */
  raw: string;
  method: SelectorMethod;
  /** For `config.KEY:value`: `KEY` (may be dotted for nested config). */
  configKey?: string;
  value: string;
  /** `+x` / `N+x`; `parentsDepth` undefined means unlimited. */
  parents: boolean;
  parentsDepth?: number;
  /** `x+` / `x+N`; `childrenDepth` undefined means unlimited. */
  children: boolean;
  childrenDepth?: number;
  /** `@x`: x, its descendants, and every ancestor of those descendants. */
  childrensParents: boolean;
}

/** Atoms of one term, intersected. */
export interface SelectorTerm {
  raw: string;
  atoms: SelectorAtom[];
}

const RESOURCE_TYPES: readonly ResourceType[] = ['model', 'seed', 'test', 'source'];
const METHOD_NAMES = ['tag', 'path', 'config', 'resource_type', 'source'] as const;
const METHODS_HINT =
  'valid forms: a model name (wildcards * and ? allowed), tag:NAME, path:DIR_OR_FILE, config.KEY:VALUE, ' +
  'resource_type:model|seed|test|source, source:NAME[.TABLE]; prefix + for ancestors, suffix + for descendants ' +
  '(N+ / +N limit the depth), @ for descendants and their ancestors';

// Whatever lies between the optional operators: a bare value or `method:value`.
const ATOM_RE = /^(@)?(?:(\d*)\+)?(.*?)(?:\+(\d*))?$/;
const METHOD_RE = /^([A-Za-z_][\w.]*):(.*)$/s;
// A bare value that looks like a file or directory is a path, as in dbt.
const PATH_LIKE_RE = /\/|\.(sql|csv|ya?ml)$/i;

function selectorError(expr: string, problem: string, hint?: string): CdpError {
  return new CdpError(`invalid selector "${expr}": ${problem}`, { hint: hint ?? METHODS_HINT });
}

function suggestMethod(method: string): string | undefined {
  const head = method.split('.')[0];
  const lower = head.toLowerCase();
  const best = closest(lower, METHOD_NAMES as unknown as string[]);
  // Allow roughly one typo per three characters, at least two: `tga` -> `tag`, `resorce_type` -> `resource_type`.
  if (distance(lower, best) > Math.max(2, Math.floor(best.length / 3))) return undefined;
  if (best === 'config') {
    const key = method.slice(head.length + 1);
    return key ? `config.${key}` : 'config.KEY';
  }
  return best;
}

function parseDepth(digits: string | undefined): number | undefined {
  return digits === undefined || digits === '' ? undefined : Number(digits);
}

function parseAtom(atomText: string, expr: string): SelectorAtom {
  if (atomText === '') throw selectorError(expr, 'empty term (check for a stray comma)');
  const m = ATOM_RE.exec(atomText);
  if (!m) throw selectorError(expr, `cannot parse "${atomText}"`);
  const [, at, parentsDigits, body, childrenDigits] = m;
  const parents = parentsDigits !== undefined;
  const children = childrenDigits !== undefined;
  if (body === '') throw selectorError(expr, `"${atomText}" has operators but nothing to select`);
  if (body.includes('+')) throw selectorError(expr, `misplaced "+" in "${atomText}"`);
  if (body.includes('@')) throw selectorError(expr, `misplaced "@" in "${atomText}" (it must come first)`);
  if (at && (parents || children)) {
    throw selectorError(expr, `"${atomText}" combines @ with +; @ already includes descendants and their ancestors`);
  }

  const atom: SelectorAtom = {
    raw: atomText,
    method: 'name',
    value: body,
    parents,
    parentsDepth: parents ? parseDepth(parentsDigits) : undefined,
    children,
    childrenDepth: children ? parseDepth(childrenDigits) : undefined,
    childrensParents: at !== undefined,
  };

  const mm = METHOD_RE.exec(body);
  if (mm) {
    const [, method, value] = mm;
    if (value === '') throw selectorError(expr, `"${method}:" needs a value`);
    if (method === 'config' || method.startsWith('config.')) {
      const key = method.slice('config.'.length);
      if (method === 'config' || key === '' || key.split('.').some((part) => part === '')) {
        throw selectorError(expr, `config selectors need a key, as in config.materialized:table`);
      }
      atom.method = 'config';
      atom.configKey = key;
    } else if (method === 'tag' || method === 'path' || method === 'source' || method === 'resource_type') {
      atom.method = method;
    } else {
      const suggestion = suggestMethod(method);
      const didYouMean = suggestion ? `did you mean "${suggestion}:${value}"? ` : '';
      throw selectorError(expr, `unknown selector method "${method}"`, `${didYouMean}${METHODS_HINT}`);
    }
    atom.value = value;
  } else if (body.includes(':')) {
    throw selectorError(expr, `cannot parse "${body}" (a method name is letters, digits, _ and .)`);
  } else if (PATH_LIKE_RE.test(body)) {
    atom.method = 'path';
  }

  if (atom.method === 'resource_type' && !RESOURCE_TYPES.includes(atom.value as ResourceType)) {
    const best = closest(atom.value, RESOURCE_TYPES as unknown as string[]);
    const didYouMean = distance(atom.value, best) <= 2 ? `did you mean "resource_type:${best}"? ` : '';
    throw selectorError(expr, `unknown resource type "${atom.value}"`, `${didYouMean}resource types: ${RESOURCE_TYPES.join(', ')}`);
  }
  if (atom.method === 'path') atom.value = normalisePath(atom.value);
  if (atom.method === 'path' && atom.value === '') throw selectorError(expr, `"${atomText}" is an empty path`);
  return atom;
}

/** Parses one CLI argument into its union of terms. A blank argument has no terms. */
export function parseSelector(expr: string): SelectorTerm[] {
  const terms: SelectorTerm[] = [];
  for (const termText of expr.trim().split(/\s+/)) {
    if (termText === '') continue;
    terms.push({ raw: termText, atoms: termText.split(',').map((a) => parseAtom(a, expr)) });
  }
  return terms;
}

// ---------------------------------------------------------------------------------------------
// Matching

function normalisePath(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

function escapeRegex(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** `*` and `?` as in shell globs over a flat name. */
function nameMatcher(pattern: string): (s: string) => boolean {
  if (!hasWildcard(pattern)) return (s) => s === pattern;
  const re = new RegExp(`^${escapeRegex(pattern).replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return (s) => re.test(s);
}

/** A directory prefix or an exact file; in globs `*` and `?` stay within a segment, `**` crosses them. */
function pathMatcher(pattern: string): (p: string) => boolean {
  if (!hasWildcard(pattern)) return (p) => p === pattern || p.startsWith(`${pattern}/`);
  const body = escapeRegex(pattern)
    .replace(/\*\*/g, '\u0000')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]')
    .replace(/\u0000/g, '.*');
  const re = new RegExp(`^${body}(?:/.*)?$`, 's');
  return (p) => re.test(p);
}

function configValue(config: Record<string, unknown>, key: string): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function scalarMatches(value: unknown, match: (s: string) => boolean): boolean {
  if (typeof value === 'string') return match(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return match(String(value));
  return false;
}

function atomPredicate(atom: SelectorAtom): (node: SelectableNode) => boolean {
  switch (atom.method) {
    case 'name': {
      const match = nameMatcher(atom.value);
      return (n) => match(n.name);
    }
    case 'tag': {
      const match = nameMatcher(atom.value);
      return (n) => n.tags.some(match);
    }
    case 'path': {
      const match = pathMatcher(atom.value);
      return (n) => match(normalisePath(n.path));
    }
    case 'resource_type':
      return (n) => n.resourceType === atom.value;
    case 'source': {
      const dot = atom.value.indexOf('.');
      const matchSource = nameMatcher(dot < 0 ? atom.value : atom.value.slice(0, dot));
      const matchTable = dot < 0 ? () => true : nameMatcher(atom.value.slice(dot + 1));
      return (n) => n.resourceType === 'source' && n.sourceName !== undefined && matchSource(n.sourceName) && matchTable(n.name);
    }
    case 'config': {
      const match = nameMatcher(atom.value);
      const key = atom.configKey as string;
      return (n) => {
        const value = configValue(n.config, key);
        return Array.isArray(value) ? value.some((v) => scalarMatches(v, match)) : scalarMatches(value, match);
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Graph traversal

interface GraphIndex {
  nodes: Map<string, SelectableNode>;
  parents(id: string): readonly string[];
  children(id: string): readonly string[];
}

function indexGraph(graph: SelectableGraph): GraphIndex {
  let childMap: Map<string, string[]> | undefined;
  const parentMap = new Map<string, string[]>();
  const nodes = graph.nodes;
  const parents = (id: string): readonly string[] => {
    let list = parentMap.get(id);
    if (!list) {
      // Dangling ids (disabled or missing nodes) would otherwise leak into the selection.
      list = (nodes.get(id)?.dependsOn ?? []).filter((p) => nodes.has(p));
      parentMap.set(id, list);
    }
    return list;
  };
  const children = (id: string): readonly string[] => {
    if (!childMap) {
      childMap = new Map();
      for (const node of nodes.values()) {
        for (const parent of node.dependsOn) {
          if (!nodes.has(parent)) continue;
          let list = childMap.get(parent);
          if (!list) childMap.set(parent, (list = []));
          list.push(node.id);
        }
      }
    }
    return childMap.get(id) ?? [];
  };
  return { nodes, parents, children };
}

/** Multi-source BFS; the result excludes the start set unless reached again. `maxDepth` undefined = unlimited. */
function reachable(start: Iterable<string>, next: (id: string) => readonly string[], maxDepth?: number): Set<string> {
  const seen = new Set<string>(start);
  const found = new Set<string>();
  let frontier = [...seen];
  for (let depth = 0; frontier.length > 0 && (maxDepth === undefined || depth < maxDepth); depth++) {
    const nextFrontier: string[] = [];
    for (const id of frontier) {
      for (const n of next(id)) {
        found.add(n);
        if (!seen.has(n)) {
          seen.add(n);
          nextFrontier.push(n);
        }
      }
    }
    frontier = nextFrontier;
  }
  return found;
}

function evaluateAtom(atom: SelectorAtom, index: GraphIndex): Set<string> {
  const predicate = atomPredicate(atom);
  const matched = new Set<string>();
  for (const node of index.nodes.values()) if (predicate(node)) matched.add(node.id);
  if (matched.size === 0) return matched;

  const result = new Set(matched);
  if (atom.childrensParents) {
    const family = new Set(matched);
    for (const id of reachable(matched, index.children)) family.add(id);
    for (const id of family) result.add(id);
    for (const id of reachable(family, index.parents)) result.add(id);
    return result;
  }
  if (atom.parents) for (const id of reachable(matched, index.parents, atom.parentsDepth)) result.add(id);
  if (atom.children) for (const id of reachable(matched, index.children, atom.childrenDepth)) result.add(id);
  return result;
}

function evaluateTerm(term: SelectorTerm, index: GraphIndex): Set<string> {
  let result: Set<string> | undefined;
  for (const atom of term.atoms) {
    const ids = evaluateAtom(atom, index);
    result = result ? new Set([...result].filter((id) => ids.has(id))) : ids;
    if (result.size === 0) break;
  }
  return result ?? new Set();
}

function evaluateTerms(terms: SelectorTerm[], index: GraphIndex): Set<string> | undefined {
  if (terms.length === 0) return undefined;
  const result = new Set<string>();
  for (const term of terms) for (const id of evaluateTerm(term, index)) result.add(id);
  return result;
}

/**
 * Adds every test with at least one selected parent, unless the test itself is excluded.
 * dbt's "eager" indirect selection: selecting a model also runs its tests.
 */
export function withAttachedTests(graph: SelectableGraph, selected: Set<string>, excluded: Set<string>): Set<string> {
  const result = new Set(selected);
  for (const node of graph.nodes.values()) {
    if (node.resourceType !== 'test' || result.has(node.id) || excluded.has(node.id)) continue;
    if (node.dependsOn.some((parent) => selected.has(parent))) result.add(node.id);
  }
  return result;
}

/**
 * Resolves `--select` / `--exclude` to node ids. Empty or missing `select` means every node;
 * `exclude` is subtracted last, then tests attached to the selection are added.
 * Throws CdpError on a malformed expression; a selector that matches nothing is not an error.
 */
export function selectNodes(graph: SelectableGraph, select: string[] | undefined, exclude: string[] | undefined): Set<string> {
  // Parse both lists before evaluating so a typo in --exclude is reported even when --select matches nothing.
  const selectTerms = (select ?? []).flatMap(parseSelector);
  const excludeTerms = (exclude ?? []).flatMap(parseSelector);
  const index = indexGraph(graph);
  const selected = evaluateTerms(selectTerms, index) ?? new Set(graph.nodes.keys());
  const excluded = evaluateTerms(excludeTerms, index) ?? new Set<string>();
  for (const id of excluded) selected.delete(id);
  return withAttachedTests(graph, selected, excluded);
}
