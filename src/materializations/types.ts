/**
 * A materialization turns a compiled model into something in the warehouse. The runner
 * looks kinds up in a registry, so later features (identity graphs, golden records,
 * segments) plug in without the runner knowing about them.
 */
import type { GraphNode } from '../compiler/graph.js';
import type { Relation, Warehouse } from '../warehouse/types.js';

export interface BuildContext {
  node: GraphNode;
  relation: Relation;
  warehouse: Warehouse;
  fullRefresh: boolean;
  runId: string;
  /** Renders the model's SQL; incremental models ask for the incremental variant. */
  render(isIncremental: boolean): string;
}

export interface BuildOutcome {
  /** Rows written, when the warehouse reports it cheaply. */
  rows?: number;
  message: string;
  /** Kind-specific figures for run results (e.g. identity rounds and edge counts). */
  details?: Record<string, unknown>;
}

export interface Materialization {
  readonly name: string;
  /** Inline materializations (ephemeral) build nothing: consumers embed their SQL. */
  readonly inline?: boolean;
  /** Model config keys this kind understands beyond the common ones. */
  readonly configKeys?: readonly string[];
  /** Compile-time checks of the node's config; returns problems as messages. */
  validate?(node: GraphNode): string[];
  build(ctx: BuildContext): Promise<BuildOutcome>;
}
