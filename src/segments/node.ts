/**
 * Segments in the graph. SQL segments are ordinary models with `materialized: segment`; rule
 * segments become model nodes here, with their SQL compiled and their references resolved.
 * Both kinds carry what the `segment` materialization needs at run time in `segment`.
 */
import type { GraphNode } from '../compiler/graph.js';
import { CdpError, CdpErrors, type SourceLocation } from '../errors.js';
import { didYouMean } from '../project/schema.js';
import type { Dialect, Relation } from '../warehouse/types.js';
import type { GoldenNodeSpec } from '../materializations/golden-record.js';
import { asOfSql, ruleSegmentSql } from './rules.js';
import { leaves, TIMESTAMP_LITERAL, usesWindows, type KeyPath, type RuleSegmentSpec } from './spec.js';

export const SEGMENT_MATERIALIZATION = 'segment';

/** A column the spec names, with where it is named (for errors found at run time). */
export interface NamedColumn {
  name: string;
  location: SourceLocation;
}

export interface SegmentNodeInfo {
  kind: 'sql' | 'rule';
  /** Where membership history and sizes are kept (the project's state schema). */
  stateSchema: string;
  /**
   * Rule segments over a model whose columns are unknown at compile time: the columns to look
   * for in `from` before building.
   */
  runtimeCheck?: { from: Relation; fromName: string; columns: NamedColumn[] };
}

export type SegmentGraphNode = GraphNode & { segment?: SegmentNodeInfo };

export function isSegment(node: GraphNode): boolean {
  return node.config.materialized === SEGMENT_MATERIALIZATION;
}

export function segmentInfo(node: GraphNode): SegmentNodeInfo {
  const info = (node as SegmentGraphNode).segment;
  if (!info) throw new Error(`${node.id} was not prepared as a segment by the compiler`);
  return info;
}

/** SQL segments need nothing compiled, only the state schema. */
export function prepareSqlSegment(node: GraphNode, stateSchema: string): void {
  (node as SegmentGraphNode).segment = { kind: 'sql', stateSchema };
}

/** What the compiler lends segment resolution: names, relations, vars and the dialect. */
export interface SegmentCompileEnv {
  dialect: Dialect;
  vars: Record<string, unknown>;
  /** Schema rule segments are built in. */
  schema: string;
  stateSchema: string;
  /** A model or seed by name, with the relation its name stands for. */
  lookup(name: string): { node: GraphNode; relation?: Relation } | undefined;
  names(): Iterable<string>;
}

/** The node of a rule segment, before its references are resolved (so segments can name each other in any order). */
export function ruleSegmentNode(spec: RuleSegmentSpec, env: SegmentCompileEnv): SegmentGraphNode {
  return {
    id: `model.${spec.name}`, name: spec.name, resourceType: 'model', path: spec.file, location: { file: spec.file, line: 1 },
    relation: { schema: env.schema, name: spec.name }, config: { materialized: SEGMENT_MATERIALIZATION },
    tags: [...new Set(['segment', ...spec.tags])], description: spec.description, columns: [], dependsOn: [],
    segment: { kind: 'rule', stateSchema: env.stateSchema },
  };
}

/** Resolves `from`, includes, excludes and `as_of`, checks columns where they are known, and compiles the SQL. */
export function resolveRuleSegment(node: SegmentGraphNode, spec: RuleSegmentSpec, env: SegmentCompileEnv): void {
  const problems: CdpError[] = [];
  const fail = (at: KeyPath, message: string, hint?: string) => problems.push(new CdpError(message, { location: spec.locate(at), hint }));

  const from = env.lookup(spec.from);
  if (!from) {
    const near = didYouMean(spec.from, env.names());
    fail(['from'], `segment reads from unknown model "${spec.from}"`, near ? `did you mean "${near}"?` : 'name a model or seed with one row per profile_id, usually a golden record');
  } else if (!from.relation) {
    fail(['from'], `segment reads from ephemeral model "${spec.from}"`, 'materialize it as a view or table');
  }

  const members = (key: 'include' | 'exclude') =>
    spec[key].flatMap((name, i) => {
      const dep = env.lookup(name);
      if (!dep || !isSegment(dep.node)) {
        const segments = [...env.names()].filter((n) => { const d = env.lookup(n); return d && isSegment(d.node) && n !== spec.name; });
        const near = didYouMean(name, segments);
        fail([key, i], dep ? `"${name}" is not a segment` : `${key}s unknown segment "${name}"`, near ? `did you mean "${near}"?` : segments.length ? `segments: ${segments.join(', ')}` : 'segments are models/**/*.segment.yml files and models with materialized: segment');
        return [];
      }
      return [dep];
    });
  const include = members('include');
  const exclude = members('exclude');

  // Without windows the reference time is unused, so an undefined var must not fail the compile.
  const asOf = usesWindows(spec.where) ? resolveAsOf(spec, env, fail) : undefined;

  const named: { name: string; at: KeyPath }[] = [
    ...leaves(spec.where).map((l) => ({ name: l.column, at: [...l.path, 'column'] })),
    ...(spec.fields ?? []).map((f, i) => ({ name: f, at: ['fields', i] as KeyPath })),
  ];
  const known = from ? knownColumns(from.node) : undefined;
  if (known) {
    for (const c of named) {
      if (known.includes(c.name)) continue;
      const near = didYouMean(c.name, known);
      fail(c.at, `column "${c.name}" is not in ${spec.from}`, near ? `did you mean "${near}"?` : `columns: ${known.join(', ')}`);
    }
  }
  if (problems.length) throw problems.length === 1 ? problems[0] : new CdpErrors(problems);

  const d = env.dialect;
  node.dependsOn = [...new Set([from!.node.id, ...include.map((x) => x.node.id), ...exclude.map((x) => x.node.id)])];
  node.compiledSql = ruleSegmentSql(spec, {
    dialect: d,
    from: d.relation(from!.relation!),
    asOf: asOfSql(asOf, d),
    include: include.map((x) => d.relation(x.relation!)),
    exclude: exclude.map((x) => d.relation(x.relation!)),
  });
  if (!known) {
    node.segment!.runtimeCheck = {
      from: from!.relation!, fromName: spec.from,
      columns: [{ name: 'profile_id', at: ['from'] as KeyPath }, ...named].map((c) => ({ name: c.name, location: lazyLocation(spec, c.at) })),
    };
  }
}

function resolveAsOf(spec: RuleSegmentSpec, env: SegmentCompileEnv, fail: (at: KeyPath, m: string, h?: string) => void): string | undefined {
  const a = spec.asOf;
  if (a.kind === 'now') return undefined;
  if (a.kind === 'literal') return a.value;
  if (!(a.name in env.vars)) {
    const near = didYouMean(a.name, Object.keys(env.vars));
    fail(['as_of'], `var "${a.name}" is not defined`, `${near ? `did you mean "${near}"? ` : ''}define it under vars: in cdp.config.yaml or pass --vars '{${a.name}: "2026-06-30"}'`);
    return undefined;
  }
  const value = env.vars[a.name];
  const text = value instanceof Date ? value.toISOString() : String(value);
  if (!TIMESTAMP_LITERAL.test(text)) {
    fail(['as_of'], `var "${a.name}" is "${text}", not a timestamp`, 'give it a value such as "2026-06-30" or "2026-06-30 12:00:00"');
    return undefined;
  }
  return text;
}

/**
 * Columns of nodes whose shape the compiler knows exactly: golden records (profile_id,
 * attributes, provenance columns, traits). Other models are checked at run time: their
 * declared columns may list only the documented ones.
 */
function knownColumns(node: GraphNode): string[] | undefined {
  const golden = node.golden as GoldenNodeSpec | undefined;
  if (!golden) return undefined;
  const attrs = Object.keys(golden.spec.attributes ?? {});
  return [
    'profile_id',
    ...attrs.flatMap((a) => (golden.spec.provenance ? [a, `${a}__source`] : [a])),
    ...Object.keys(golden.spec.traits ?? {}),
  ];
}

/** Resolved only if an error needs it: locating parses the file again with positions. */
function lazyLocation(spec: RuleSegmentSpec, at: KeyPath): SourceLocation {
  let resolved: SourceLocation | undefined;
  const get = () => (resolved ??= spec.locate(at));
  return {
    get file() { return get().file; },
    get line() { return get().line; },
    get column() { return get().column; },
    get key() { return get().key; },
  };
}
