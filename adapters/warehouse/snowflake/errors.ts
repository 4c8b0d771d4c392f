/**
 * Errors from Snowflake in the words a user can act on. Connection failures name the target
 * (account or endpoint, user, role, warehouse, database) and what to fix; secrets never appear.
 * SQL errors keep Snowflake's code and query id but lose the line breaks, because run results
 * show only an error's first line.
 */
import { CdpError } from '../../../src/errors.js';

export interface SnowflakeEndpoint {
  account: string;
  accessUrl?: string;
  user: string;
  role?: string;
  warehouse?: string;
  database?: string;
  schema?: string;
  auth: 'password' | 'key-pair';
  /** Secret values to scrub from any driver message. */
  secrets: string[];
}

export function describeEndpoint(at: SnowflakeEndpoint): string {
  return `Snowflake account "${at.account}"${at.accessUrl ? ` at ${at.accessUrl}` : ''} as user "${at.user}"`;
}

interface DriverError {
  code?: string | number;
  message?: string;
  sqlState?: string;
  data?: { queryId?: string };
  cause?: { code?: string; message?: string };
}

export function connectionError(err: unknown, at: SnowflakeEndpoint): CdpError {
  const e = (err ?? {}) as DriverError;
  const code = String(e.code ?? '');
  const reason = redact(oneLine(e.message ?? String(err)), at.secrets);
  return new CdpError(`Cannot connect to ${describeEndpoint(at)}: ${reason}`, { hint: hintFor(code, e, at), cause: err });
}

function hintFor(code: string, e: DriverError, at: SnowflakeEndpoint): string {
  switch (code) {
    case '390100':
      return at.auth === 'password'
        ? `Snowflake refused the user name or password. Check the target's user and the environment variable its password refers to.`
        : `Snowflake refused the login. Check the target's user and account.`;
    case '390144':
    case '390145':
      return `Snowflake refused the key-pair login. Check that the public key of private_key_path is set on user "${at.user}" (ALTER USER ... SET RSA_PUBLIC_KEY) and that the account is right.`;
    case '390189':
      return `Role "${at.role}" does not exist or is not granted to user "${at.user}". Grant it (GRANT ROLE ... TO USER ...) or fix the target's role.`;
    case '390201':
    case '390202':
      return `The database, schema or warehouse in the target does not exist or the role cannot use it.`;
    case '401001':
    case '401002':
      return at.accessUrl
        ? `Nothing answered at ${at.accessUrl}. Check the target's access_url and that the endpoint is running.`
        : `Could not reach ${at.account}.snowflakecomputing.com${e.cause?.code ? ` (${e.cause.code})` : ''}. Check the target's account identifier (e.g. orgname-accountname) and the network or proxy.`;
    default:
      return `Check the target's account, user, ${at.auth === 'password' ? 'password' : 'private_key_path'}, role and warehouse.`;
  }
}

/** After login: the session must actually have the database and warehouse the target names. */
export function missingObjectError(at: SnowflakeEndpoint, what: 'database' | 'warehouse', name: string): CdpError {
  const grant = what === 'database' ? `GRANT USAGE ON DATABASE ${name} TO ROLE ${at.role ?? '<role>'}` : `GRANT USAGE ON WAREHOUSE ${name} TO ROLE ${at.role ?? '<role>'}`;
  return new CdpError(`Cannot use ${what} "${name}" on ${describeEndpoint(at)}${at.role ? ` with role "${at.role}"` : ''}: it does not exist or the role has no access to it`, {
    hint: `Check the target's ${what}, or grant access: ${grant}.`,
  });
}

/** A failed statement, as one line with Snowflake's code and query id. */
export class SnowflakeQueryError extends Error {
  readonly code?: string;
  readonly sqlState?: string;
  readonly queryId?: string;

  constructor(err: unknown, secrets: string[]) {
    const e = (err ?? {}) as DriverError;
    const code = e.code === undefined ? undefined : String(e.code);
    const queryId = e.data?.queryId;
    const detail = [code && `Snowflake error ${code}`, e.sqlState && `SQLSTATE ${e.sqlState}`, queryId && `query ${queryId}`].filter(Boolean).join(', ');
    super(`${redact(oneLine(e.message ?? String(err)), secrets)}${detail ? ` (${detail})` : ''}`, { cause: err });
    this.name = 'SnowflakeQueryError';
    this.code = code;
    this.sqlState = e.sqlState;
    this.queryId = queryId;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}
