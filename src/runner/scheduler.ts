/**
 * Runs a selected part of the DAG in parallel: a node starts once all of its selected
 * parents have succeeded; a failed node skips its descendants while the rest go on.
 */
import PQueue from 'p-queue';
import type { Graph, GraphNode } from '../compiler/graph.js';

export type NodeStatus = 'success' | 'error' | 'skipped' | 'pass' | 'warn' | 'fail';

export interface NodeOutcome {
  status: NodeStatus;
  message: string;
  rows?: number;
  failures?: number;
  /** Up to a few failing rows for tests. */
  sample?: Record<string, unknown>[];
  compiledPath?: string;
  details?: Record<string, unknown>;
}

export interface NodeResult extends NodeOutcome {
  id: string;
  name: string;
  resourceType: string;
  startedAt: Date;
  completedAt: Date;
  seconds: number;
}

export interface SchedulerEvents {
  onStart?(node: GraphNode): void;
  onFinish?(result: NodeResult): void;
}

/** Outcomes that stop descendants from running. */
export function blocksDescendants(status: NodeStatus): boolean {
  return status === 'error' || status === 'fail' || status === 'skipped';
}

export async function runDag(
  graph: Graph,
  selected: Set<string>,
  threads: number,
  execute: (node: GraphNode) => Promise<NodeOutcome>,
  events: SchedulerEvents = {},
  /** Extra edges for this run only: node id -> ids it must also wait for. */
  extraParents: Map<string, string[]> = new Map(),
): Promise<NodeResult[]> {
  const results: NodeResult[] = [];
  const waitingOn = new Map<string, number>();
  const blockedBy = new Map<string, string>();
  const extraChildren = new Map<string, string[]>();
  const parentsOf = (id: string) => [...new Set([...graph.get(id).dependsOn, ...(extraParents.get(id) ?? [])])].filter((p) => selected.has(p));
  for (const id of selected) {
    const parents = parentsOf(id);
    waitingOn.set(id, parents.length);
    for (const p of extraParents.get(id) ?? []) if (selected.has(p)) extraChildren.set(p, [...(extraChildren.get(p) ?? []), id]);
  }
  const queue = new PQueue({ concurrency: Math.max(1, threads) });

  const finish = (node: GraphNode, outcome: NodeOutcome, startedAt: Date) => {
    const completedAt = new Date();
    const result: NodeResult = {
      ...outcome, id: node.id, name: node.name, resourceType: node.resourceType,
      startedAt, completedAt, seconds: (completedAt.getTime() - startedAt.getTime()) / 1000,
    };
    results.push(result);
    events.onFinish?.(result);
    const children = new Set([...graph.children(node.id), ...(extraChildren.get(node.id) ?? [])]);
    for (const child of children) {
      if (!selected.has(child)) continue;
      if (blocksDescendants(outcome.status) && !blockedBy.has(child)) blockedBy.set(child, node.name);
      const left = waitingOn.get(child)! - 1;
      waitingOn.set(child, left);
      if (left === 0) schedule(graph.get(child));
    }
  };

  const schedule = (node: GraphNode) => {
    const blocker = blockedBy.get(node.id);
    if (blocker !== undefined) {
      finish(node, { status: 'skipped', message: `skipped because ${blocker} did not succeed` }, new Date());
      return;
    }
    void queue.add(async () => {
      const startedAt = new Date();
      events.onStart?.(node);
      let outcome: NodeOutcome;
      try {
        outcome = await execute(node);
      } catch (err) {
        outcome = { status: 'error', message: err instanceof Error ? err.message : String(err) };
      }
      finish(node, outcome, startedAt);
    });
  };

  for (const [id, count] of waitingOn) if (count === 0) schedule(graph.get(id));
  await queue.onIdle();
  return results;
}
