/**
 * Executes one node against the warehouse: models and seeds through their
 * materialization, tests by counting their failing rows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CompiledProject } from '../compiler/compile.js';
import type { GraphNode } from '../compiler/graph.js';
import { CdpError } from '../errors.js';
import { sqlFileOf } from '../compiler/manifest.js';
import { getMaterialization } from '../materializations/registry.js';
import { redact } from '../project/secrets.js';
import type { Warehouse } from '../warehouse/types.js';
import type { NodeOutcome } from './scheduler.js';

export interface ExecuteOptions {
  compiled: CompiledProject;
  warehouse: Warehouse;
  runId: string;
  fullRefresh: boolean;
  targetDir: string;
}

const SAMPLE_ROWS = 5;

/** Where the SQL that actually ran is kept, so a failure can point at it. */
function writeRunSql(opts: ExecuteOptions, node: GraphNode, sql: string): string {
  const file = path.join(opts.targetDir, 'run', sqlFileOf(node));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, sql.endsWith('\n') ? sql : `${sql}\n`);
  // Relative to the project, like every other path in the artifacts.
  return path.relative(path.dirname(opts.targetDir), file);
}

export function describeFailure(node: GraphNode, err: unknown, sqlPath: string | undefined): string {
  const base = err instanceof CdpError ? err.message + (err.hint ? ` (hint: ${err.hint})` : '') : err instanceof Error ? err.message : String(err);
  const msg = redact(base.split('\n')[0]);
  return sqlPath && !(err instanceof CdpError) ? `${msg}; compiled SQL: ${sqlPath}` : msg;
}

export async function executeNode(opts: ExecuteOptions, node: GraphNode): Promise<NodeOutcome> {
  // Jobs carry the node's name where the warehouse supports it, so costs can be attributed.
  const warehouse = opts.warehouse.withLabels?.({ cdp_node: node.name, cdp_kind: node.resourceType }) ?? opts.warehouse;
  const scoped = { ...opts, warehouse };
  return node.resourceType === 'test' ? executeTest(scoped, node) : executeBuild(scoped, node);
}

async function executeBuild(opts: ExecuteOptions, node: GraphNode): Promise<NodeOutcome> {
  const { compiled, warehouse } = opts;
  const mat = getMaterialization(String(node.config.materialized));
  let lastSqlPath: string | undefined;
  try {
    const outcome = await mat.build({
      node,
      relation: node.relation!,
      warehouse,
      fullRefresh: opts.fullRefresh,
      runId: opts.runId,
      render: (isIncremental) => {
        const sql = compiled.renderModel(node, isIncremental);
        lastSqlPath = writeRunSql(opts, node, sql);
        return sql;
      },
    });
    return { status: 'success', message: outcome.message, rows: outcome.rows, compiledPath: lastSqlPath, details: outcome.details };
  } catch (err) {
    return { status: 'error', message: describeFailure(node, err, lastSqlPath), compiledPath: lastSqlPath };
  }
}

async function executeTest(opts: ExecuteOptions, node: GraphNode): Promise<NodeOutcome> {
  const sql = node.compiledSql!;
  const sqlPath = writeRunSql(opts, node, sql);
  try {
    const [{ n }] = await opts.warehouse.query<{ n: number }>(`select count(*) as n from (\n${sql}\n) as failures`);
    const failures = Number(n);
    if (failures === 0) return { status: 'pass', message: 'passed', failures: 0, compiledPath: sqlPath };
    const sample = await opts.warehouse.query(`select * from (\n${sql}\n) as failures limit ${SAMPLE_ROWS}`);
    const severity = node.test?.severity ?? 'error';
    return {
      status: severity === 'warn' ? 'warn' : 'fail',
      message: `${failures} failing row${failures === 1 ? '' : 's'}`,
      failures, sample, compiledPath: sqlPath,
    };
  } catch (err) {
    return { status: 'error', message: describeFailure(node, err, sqlPath), compiledPath: sqlPath };
  }
}
