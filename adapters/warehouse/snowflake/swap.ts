/**
 * Atomic replacement on Snowflake. The core replaces a relation inside a transaction as
 * "DROP old; ALTER TABLE staging RENAME TO old" (or "DROP VIEW v; CREATE VIEW v"). Snowflake
 * commits each DDL statement on its own, so readers would briefly see no relation at all.
 * Inside transaction(), a DROP of our dialect's shape is therefore held back for one statement:
 * - followed by a rename of a table onto the dropped table's name, the pair becomes
 *   `ALTER TABLE staging SWAP WITH old` + `DROP TABLE staging` (the swap is atomic);
 * - followed by CREATE VIEW of the dropped view's name, the pair becomes CREATE OR REPLACE VIEW;
 * - followed by anything else, the DROP runs first, unchanged.
 * A held DROP that is never followed (the callback throws) is simply not run.
 */
export interface Runner {
  run(sql: string): Promise<void>;
}

interface HeldDrop {
  sql: string;
  kind: 'TABLE' | 'VIEW';
  target: string;
}

const DROP = /^DROP (TABLE|VIEW) IF EXISTS ("(?:[^"]|"")*"\."(?:[^"]|"")*")$/;
const RENAME = /^ALTER TABLE ("(?:[^"]|"")*"\."(?:[^"]|"")*") RENAME TO ("(?:[^"]|"")*"\."(?:[^"]|"")*")$/;
const CREATE_VIEW = /^CREATE VIEW ("(?:[^"]|"")*"\."(?:[^"]|"")*") AS\n/;

export class SwapCoalescer {
  private held: HeldDrop | undefined;
  /** The original statements of the last planned swap, in case SWAP WITH fails. */
  private fallback: string[] | undefined;

  constructor(private readonly runner: Runner) {}

  /** Takes a statement; returns the statements to run now, in order. */
  plan(sql: string): string[] {
    const held = this.held;
    this.held = undefined;
    const drop = DROP.exec(sql);
    if (drop) {
      const out = held ? [held.sql] : [];
      this.held = { sql, kind: drop[1] as 'TABLE' | 'VIEW', target: drop[2] };
      return out;
    }
    if (!held) return [sql];
    const rename = RENAME.exec(sql);
    if (held.kind === 'TABLE' && rename && rename[2] === held.target) {
      this.fallback = [held.sql, sql];
      return [`ALTER TABLE ${rename[1]} SWAP WITH ${held.target}`, `DROP TABLE IF EXISTS ${rename[1]}`];
    }
    const view = CREATE_VIEW.exec(sql);
    if (held.kind === 'VIEW' && view && view[1] === held.target) return [sql.replace(/^CREATE VIEW /, 'CREATE OR REPLACE VIEW ')];
    return [held.sql, sql];
  }

  /** Runs what `plan` says before a statement; returns the statement left for the caller to run, if any. */
  async before(sql: string): Promise<string | undefined> {
    this.fallback = undefined;
    const planned = this.plan(sql);
    const fallback = this.fallback as string[] | undefined;
    if (planned.length === 0) return undefined;
    const last = planned.pop()!;
    try {
      for (const s of planned) await this.runner.run(s);
    } catch (err) {
      // SWAP WITH needs both tables; if the old one vanished meanwhile, a plain rename does.
      if (!fallback) throw err;
      await this.runner.run(fallback[0]);
      return fallback[1];
    }
    return last;
  }

  /** At commit: a DROP still held runs now. */
  async flush(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held) await this.runner.run(held.sql);
  }
}
