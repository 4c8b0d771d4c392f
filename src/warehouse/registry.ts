/**
 * Maps a target's `type` to its adapter. Adapters are imported on demand so that commands
 * which never touch a warehouse (and targets of other types) never load DuckDB's native
 * library or knex.
 */
import { CdpError } from '../errors.js';
import type { Dialect, Warehouse } from './types.js';

export type TargetConfig =
  | { type: 'duckdb'; path: string; threads?: number; memory_limit?: string }
  | { type: 'postgres'; host?: string; port?: number; user?: string; password?: string; database?: string; poolMax?: number }
  | { type: 'bigquery' | 'snowflake'; [k: string]: unknown };

const SUPPORTED = ['duckdb', 'postgres', 'bigquery', 'snowflake'];
const PLANNED: string[] = [];

export async function openWarehouse(target: TargetConfig): Promise<Warehouse> {
  switch (target.type) {
    case 'duckdb': {
      const { DuckDbWarehouse } = await import('../../adapters/warehouse/duckdb/connection.js');
      return DuckDbWarehouse.open({ path: target.path, threads: target.threads, memoryLimit: target.memory_limit });
    }
    case 'postgres': {
      const { PostgresWarehouse } = await import('../../adapters/warehouse/postgres/connection.js');
      const { host, port, user, password, database, poolMax } = target;
      return PostgresWarehouse.open({ host, port, user, password, database, poolMax });
    }
    case 'bigquery': {
      const { BigQueryWarehouse, optionsFromTarget } = await import('../../adapters/warehouse/bigquery/connection.js');
      return BigQueryWarehouse.open(optionsFromTarget(target));
    }
    case 'snowflake': {
      const { SnowflakeWarehouse, optionsFromTarget } = await import('../../adapters/warehouse/snowflake/connection.js');
      return SnowflakeWarehouse.open(optionsFromTarget(target));
    }
    default:
      throw unsupported((target as { type: string }).type);
  }
}

/** The SQL dialect of a warehouse type, without connecting (for compile-time SQL generation). */
export async function dialectFor(type: string): Promise<Dialect> {
  switch (type) {
    case 'duckdb': {
      const { DuckDbDialect } = await import('../../adapters/warehouse/duckdb/dialect.js');
      return new DuckDbDialect();
    }
    case 'postgres': {
      const { PostgresDialect } = await import('../../adapters/warehouse/postgres/dialect.js');
      return new PostgresDialect();
    }
    case 'bigquery': {
      const { BigQueryDialect } = await import('../../adapters/warehouse/bigquery/dialect.js');
      return new BigQueryDialect();
    }
    case 'snowflake': {
      const { SnowflakeDialect } = await import('../../adapters/warehouse/snowflake/dialect.js');
      return new SnowflakeDialect();
    }
    default:
      throw unsupported(type);
  }
}

function unsupported(type: string): CdpError {
  if (PLANNED.includes(type)) {
    return new CdpError(`The ${type} warehouse adapter is not implemented yet`, {
      hint: `Supported target types today: ${SUPPORTED.join(', ')}.`,
    });
  }
  return new CdpError(`Unknown warehouse type "${type}"`, {
    hint: `Use one of: ${SUPPORTED.join(', ')}${PLANNED.length ? ` (${PLANNED.join(', ')} are planned)` : ''}.`,
  });
}
