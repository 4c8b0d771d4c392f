/**
 * Atomic replacement of a relation. New tables are built under a staging name first; the
 * old relation is replaced in one transaction, so readers see either the old or the new
 * one and a failed build leaves the old one untouched.
 */
import type { Executor, Relation, RelationKind, Warehouse } from '../warehouse/types.js';

/**
 * One creation per schema per warehouse, shared by parallel builds: two concurrent
 * CREATE SCHEMA IF NOT EXISTS still conflict on DuckDB and PostgreSQL.
 */
const schemaCreations = new WeakMap<Warehouse, Map<string, Promise<void>>>();

export function ensureSchema(wh: Warehouse, schema: string): Promise<void> {
  let byName = schemaCreations.get(wh);
  if (!byName) schemaCreations.set(wh, (byName = new Map()));
  let pending = byName.get(schema);
  if (!pending) {
    pending = createSchemaOnce(wh, schema);
    byName.set(schema, pending);
    pending.catch(() => byName!.delete(schema));
  }
  return pending;
}

async function createSchemaOnce(wh: Warehouse, schema: string): Promise<void> {
  try {
    await wh.execute(wh.dialect.createSchema(schema));
  } catch (err) {
    // Another process may have created it at the same moment, which some warehouses report as
    // an error even with IF NOT EXISTS. Trying again then succeeds; any other error repeats.
    await wh.execute(wh.dialect.createSchema(schema)).catch(() => {
      throw err;
    });
  }
}

export async function existingKind(wh: Warehouse, rel: Relation): Promise<RelationKind | undefined> {
  const found = (await wh.relations(rel.schema)).find((r) => r.name === rel.name);
  return found?.kind;
}

export function stagingRelation(rel: Relation, suffix: string): Relation {
  return { schema: rel.schema, name: `${rel.name}__cdp_${suffix}` };
}

/** Drops a leftover relation of our own (a staging table from a crashed run). */
export async function dropIfExists(wh: Warehouse | Executor, dialect: Warehouse['dialect'], rel: Relation, kind: RelationKind): Promise<void> {
  await wh.execute(dialect.drop(rel, kind));
}

/**
 * Replaces `target` inside one transaction: dependent views are dropped and re-created
 * around the change where the warehouse needs it, then `install` puts the new relation in place.
 */
export async function replaceAtomically(wh: Warehouse, target: Relation, install: (tx: Executor) => Promise<void>): Promise<void> {
  await replaceAllAtomically(wh, [{ target, install }]);
}

/** Several replacements in one transaction: readers see all old relations or all new ones. */
export async function replaceAllAtomically(wh: Warehouse, items: { target: Relation; install: (tx: Executor) => Promise<void> }[]): Promise<void> {
  const d = wh.dialect;
  const plans: { target: Relation; install: (tx: Executor) => Promise<void>; current?: RelationKind; dependents: { relation: Relation; definition: string }[] }[] = [];
  for (const item of items) {
    const current = await existingKind(wh, item.target);
    const dependents = current && wh.dependentViews ? await wh.dependentViews(item.target) : [];
    plans.push({ ...item, current, dependents });
  }
  await wh.transaction(async (tx) => {
    const dropped = new Set<string>();
    for (const plan of plans) {
      for (const dep of [...plan.dependents].reverse()) {
        const key = d.relation(dep.relation);
        if (dropped.has(key)) continue;
        dropped.add(key);
        await tx.execute(d.drop(dep.relation, 'view'));
      }
    }
    for (const plan of plans) {
      if (plan.current) await tx.execute(d.drop(plan.target, plan.current));
      await plan.install(tx);
    }
    // A dependent view that is itself being replaced was installed by its own item.
    const recreated = new Set<string>(plans.map((plan) => d.relation(plan.target)));
    for (const plan of plans) {
      for (const dep of plan.dependents) {
        const key = d.relation(dep.relation);
        if (recreated.has(key)) continue;
        recreated.add(key);
        await tx.execute(dep.definition);
      }
    }
  });
}

/** Builds a table from `select` under a staging name, then swaps it in. Returns its row count. */
export async function buildTableAndSwap(wh: Warehouse, target: Relation, select: string): Promise<number> {
  const staging = stagingRelation(target, 'tmp');
  return stageAndSwap(wh, target, staging, async () => {
    await wh.execute(wh.dialect.createTableAs(staging, select));
  });
}

/** Runs `build` to fill `staging`, then swaps it in for `target`; cleans up on failure. */
export async function stageAndSwap(wh: Warehouse, target: Relation, staging: Relation, build: () => Promise<void>): Promise<number> {
  const d = wh.dialect;
  await ensureSchema(wh, target.schema);
  await dropIfExists(wh, d, staging, 'table');
  try {
    await build();
    const [{ n }] = await wh.query<{ n: number }>(`select count(*) as n from ${d.relation(staging)}`);
    await replaceAtomically(wh, target, (tx) => tx.execute(d.rename(staging, 'table', target.name)));
    return Number(n);
  } catch (err) {
    await dropIfExists(wh, d, staging, 'table').catch(() => undefined);
    throw err;
  }
}
