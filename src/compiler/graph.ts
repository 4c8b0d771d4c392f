/**
 * The project's DAG: typed nodes, topological order and cycle detection.
 */
import type { SourceLocation } from '../errors.js';
import { CdpError } from '../errors.js';
import type { ColumnProps } from '../project/properties.js';
import type { Relation } from '../warehouse/types.js';
import type { ParsedTemplate } from './templates.js';

export type ResourceType = 'model' | 'seed' | 'source' | 'test';

export interface TestSpec {
  kind: 'generic' | 'singular';
  /** Generic test type (`unique`, `not_null`, ...) or `singular`. */
  type: string;
  severity: 'error' | 'warn';
  /** The model/seed/source the test checks, when it is attached to one. */
  attachedTo?: string;
  column?: string;
  /** Generic tests: the arguments as declared, besides severity (and name), when there are any. */
  args?: Record<string, unknown>;
}

export interface GraphNode {
  id: string;
  name: string;
  resourceType: ResourceType;
  /** Project-relative file path (forward slashes). */
  path: string;
  /** Models and seeds described in a properties file: that file (project-relative). */
  propertiesPath?: string;
  location: SourceLocation;
  relation?: Relation;
  config: Record<string, unknown>;
  tags: string[];
  description?: string;
  columns: ColumnProps[];
  dependsOn: string[];
  /** For sources: the declared source name. */
  sourceName?: string;
  template?: ParsedTemplate;
  /** Rendered SQL (models and tests), with is_incremental() false. */
  compiledSql?: string;
  test?: TestSpec;
  /** For seeds: absolute path of the CSV file. */
  seedFile?: string;
  /** For spec-driven materializations (identity graphs, golden records): the resolved spec. */
  identity?: unknown;
  golden?: unknown;
}

export class Graph {
  readonly nodes = new Map<string, GraphNode>();
  private childIndex?: Map<string, string[]>;

  add(node: GraphNode): void {
    this.nodes.set(node.id, node);
    this.childIndex = undefined;
  }

  get(id: string): GraphNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  children(id: string): string[] {
    if (!this.childIndex) {
      this.childIndex = new Map();
      for (const node of this.nodes.values()) {
        for (const parent of node.dependsOn) {
          let list = this.childIndex.get(parent);
          if (!list) this.childIndex.set(parent, (list = []));
          list.push(node.id);
        }
      }
    }
    return this.childIndex.get(id) ?? [];
  }

  /** All nodes in dependency order (parents first). Throws with the cycle's path if there is one. */
  topologicalOrder(): string[] {
    return this.topologicalNodes().map((n) => n.id);
  }

  /** As topologicalOrder, as nodes. */
  topologicalNodes(): GraphNode[] {
    // Nodes are numbered in id order (DFS starts there, which makes the order canonical);
    // states and the DFS stack are then plain arrays, which matters at tens of thousands of nodes.
    const ids = [...this.nodes.keys()].sort();
    const nodes = ids.map((id) => this.nodes.get(id)!);
    const number = new Map<string, number>();
    for (let i = 0; i < ids.length; i++) number.set(ids[i], i);
    const state = new Uint8Array(ids.length); // 1 = on the current path, 2 = done
    const order: GraphNode[] = [];
    const stack: number[] = [];
    const next: number[] = [];
    // Iterative DFS: deep chains of thousands of models must not overflow the stack.
    for (let start = 0; start < nodes.length; start++) {
      if (state[start]) continue;
      stack.push(start);
      next.push(0);
      state[start] = 1;
      while (stack.length) {
        const top = stack.length - 1;
        const deps = nodes[stack[top]].dependsOn;
        if (next[top] < deps.length) {
          const dep = number.get(deps[next[top]++]);
          if (dep === undefined) continue;
          if (state[dep] === 1) throw this.cycleError(stack.map((i) => ids[i]), ids[dep]);
          if (state[dep] === 0) {
            state[dep] = 1;
            stack.push(dep);
            next.push(0);
          }
        } else {
          state[stack[top]] = 2;
          order.push(nodes[stack[top]]);
          stack.pop();
          next.pop();
        }
      }
    }
    return order;
  }

  private cycleError(path: string[], repeated: string): CdpError {
    const cycle = path.slice(path.indexOf(repeated));
    // The DFS walks child -> parent; show the cycle in data-flow order.
    const flow = [...cycle.reverse(), cycle[0]].map((id) => this.nodes.get(id)?.name ?? id);
    const first = this.nodes.get(repeated)!;
    return new CdpError(`dependency cycle: ${flow.join(' -> ')}`, {
      location: first.location,
      hint: 'a model cannot depend on itself, directly or through other models; remove one of these refs',
    });
  }
}
