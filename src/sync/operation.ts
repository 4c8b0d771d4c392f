/**
 * Planned rows as the delivery keeps them between reading the plan and the commit: the
 * operations to send, and per row only the seq and change kind the commit needs. Rows read
 * from the plan are dropped as soon as they are converted, so what lives on while requests are
 * in flight (and is promoted to V8's old generation) is the key and fields text alone.
 */
import type { Operation, OperationKind } from '../destination/types.js';
import type { Change } from './commit.js';

export class PlannedOperation implements Operation {
  private parsed?: Record<string, unknown>;

  constructor(
    readonly op: OperationKind,
    readonly key: string,
    readonly fieldsJson: string,
  ) {}

  /** Parsed on first read: connectors that splice `fieldsJson` never pay for it. */
  get fields(): Record<string, unknown> {
    return (this.parsed ??= JSON.parse(this.fieldsJson) as Record<string, unknown>);
  }

  /** A getter is not an own property: without this, JSON.stringify would leave the fields out. */
  toJSON(): { op: OperationKind; key: string; fields: Record<string, unknown> } {
    return { op: this.op, key: this.key, fields: this.fields };
  }
}

/** The plan's columns, as the warehouse returns them. */
export interface PlanRow {
  seq: number;
  key: string;
  change: string;
  op: string;
  fields: string | null;
}

// Canonical strings: the warehouse returns a new string per row, which would otherwise live on.
const CHANGES: Record<string, Change> = { add: 'add', change: 'change', remove: 'remove' };
const OPS: Record<string, OperationKind> = { add: 'add', remove: 'remove', upsert: 'upsert', delete: 'delete' };

export class PlannedBatch {
  readonly seqs: number[] = [];
  readonly changes: Change[] = [];
  readonly ops: PlannedOperation[] = [];

  get size(): number {
    return this.ops.length;
  }

  push(row: PlanRow): void {
    const change = CHANGES[row.change];
    const op = OPS[row.op];
    if (!change || !op) throw new Error(`plan row ${row.seq} has change "${row.change}" and op "${row.op}"`);
    this.seqs.push(Number(row.seq));
    this.changes.push(change);
    this.ops.push(new PlannedOperation(op, String(row.key), row.fields ?? '{}'));
  }
}
