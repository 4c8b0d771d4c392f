import type { LogicalType } from '../../../src/warehouse/types.js';
import { AnsiDialect } from '../ansi-dialect.js';

const TYPE_NAMES: Record<LogicalType, string> = {
  boolean: 'boolean',
  integer: 'integer',
  bigint: 'bigint',
  double: 'double precision',
  decimal: 'numeric',
  text: 'text',
  date: 'date',
  timestamp: 'timestamp',
  // jsonb, unlike json, has an equality operator, so it works in DISTINCT, GROUP BY and MERGE keys.
  json: 'jsonb',
};

export class PostgresDialect extends AnsiDialect {
  readonly name = 'postgres';

  typeName(type: LogicalType): string {
    return TYPE_NAMES[type];
  }

  sha256(expr: string): string {
    return `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
  }
}
