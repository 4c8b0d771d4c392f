/**
 * Turns a failure to open a PostgreSQL session into a CdpError that says where cdp tried to
 * connect and what to check. The password never appears: only host, port, database and user.
 */
import { CdpError } from '../../../src/errors.js';

export interface PgEndpoint {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
}

export function connectionError(err: unknown, at: PgEndpoint): CdpError {
  const code = (err as { code?: string } | null)?.code;
  const where = `${at.host}:${at.port}/${at.database}`;
  const reason = redact(err instanceof Error ? err.message : String(err), at.password);
  return new CdpError(`Cannot connect to PostgreSQL at ${where} as user "${at.user}": ${reason}`, {
    hint: hintFor(code, at),
    cause: err,
  });
}

function hintFor(code: string | undefined, at: PgEndpoint): string {
  switch (code) {
    case 'ECONNREFUSED':
      return `Nothing accepted the connection on ${at.host}:${at.port}. Check that PostgreSQL is running and that the target's host and port are right.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host name "${at.host}" does not resolve. Check the target's host.`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${at.host}:${at.port} did not answer. Check the host, the port and any firewall between here and the server.`;
    case '3D000':
      return `The database "${at.database}" does not exist on that server. Create it or fix the target's database.`;
    case '28P01':
    case '28000':
      return `The server refused user "${at.user}". Check the target's user and password (or the server's pg_hba.conf).`;
    default:
      return `Check the target's host, port, user, password and database, and that the server is reachable.`;
  }
}

function redact(message: string, password: string | undefined): string {
  return password ? message.split(password).join('***') : message;
}
