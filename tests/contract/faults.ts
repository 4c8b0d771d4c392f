/**
 * Plumbing shared by the contract servers: a node:http server on 127.0.0.1, body reading,
 * and faults a test programs to see how a connector behaves when the platform misbehaves.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Answer `status` (e.g. 429 with Retry-After, 500, or a 4xx with a platform error body). */
  | { kind: 'status'; status: number; times?: number; retryAfter?: string; body?: unknown; path?: string }
  /** Drop the connection without an answer. */
  | { kind: 'reset'; times?: number; path?: string }
  /** Answer normally, but only after `ms` (longer than the client's timeout). */
  | { kind: 'delay'; ms: number; times?: number; path?: string };

/** Faults in the order they were programmed; each fires `times` times (1 by default) on matching requests. */
export class FaultQueue {
  private pending: { fault: Fault; left: number }[] = [];

  add(fault: Fault): void {
    this.pending.push({ fault, left: fault.times ?? 1 });
  }

  /** The fault this request triggers, if any; consumes one firing. */
  take(path: string): Fault | undefined {
    const entry = this.pending.find((p) => p.left > 0 && (!p.fault.path || path.includes(p.fault.path)));
    if (!entry) return undefined;
    entry.left -= 1;
    this.pending = this.pending.filter((p) => p.left > 0);
    return entry.fault;
  }

  get size(): number {
    return this.pending.length;
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `handle` with faults applied first. A `status` or `reset` fault ends the request;
 * a `delay` fault holds it, then lets `handle` answer.
 */
export async function serve(
  faults: FaultQueue,
  handle: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void,
): Promise<RunningServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        const fault = faults.take(req.url ?? '');
        if (fault?.kind === 'reset') {
          req.socket.destroy();
          return;
        }
        if (fault?.kind === 'status') {
          const headers: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {};
          sendJson(res, fault.status, fault.body ?? { error: { message: `injected ${fault.status}` } }, headers);
          return;
        }
        if (fault?.kind === 'delay') {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              timers.delete(t);
              resolve();
            }, fault.ms);
            timers.add(t);
          });
          if (req.socket.destroyed) return;
        }
        handle(req, body, res);
      })
      .catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: `contract server bug: ${err.message}` } });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
