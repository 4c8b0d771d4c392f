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
}

export interface GraphNode {
  id: string;
  name: string;
  resourceType: ResourceType;
  /** Project-relative file path (forward slashes). */
  path: string;
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
    const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
    const order: string[] = [];
    // Iterative DFS: deep chains of thousands of models must not overflow the stack.
    for (const start of [...this.nodes.keys()].sort()) {
      if (state.has(start)) continue;
      const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
      state.set(start, 1);
      while (stack.length) {
        const frame = stack[stack.length - 1];
        const deps = this.nodes.get(frame.id)?.dependsOn ?? [];
        if (frame.next < deps.length) {
          const dep = deps[frame.next++];
          if (!this.nodes.has(dep)) continue;
          const st = state.get(dep);
          if (st === 1) throw this.cycleError(stack.map((f) => f.id), dep);
          if (st === undefined) {
            state.set(dep, 1);
            stack.push({ id: dep, next: 0 });
          }
        } else {
          state.set(frame.id, 2);
          order.push(frame.id);
          stack.pop();
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
