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

type StatusFault = Extract<Fault, { kind: 'status' }>;

/** Faults in the order they were programmed; each fires `times` times (1 by default) on matching requests. */
export class FaultQueue {
  private pending: { fault: Fault; left: number }[] = [];
  /** Timers of delayed requests, cleared on close so a test does not wait them out. */
  private readonly holds = new Set<NodeJS.Timeout>();

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

  /**
   * Acts out the fault a request to `path` triggers. True when that settled the request: the
   * socket was dropped, `answer` answered with the fault's status, or the client gave up while
   * the request was held. False when the server should answer it as usual.
   */
  async actOut(
    path: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    answer: (fault: StatusFault, headers: Record<string, string>) => void,
  ): Promise<boolean> {
    const fault = this.take(path);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return true;
    }
    if (fault?.kind === 'status') {
      answer(fault, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      return true;
    }
    if (fault?.kind === 'delay') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => (this.holds.delete(t), resolve()), fault.ms);
        this.holds.add(t);
      });
      return res.destroyed;
    }
    return false;
  }

  releaseHolds(): void {
    for (const t of this.holds) clearTimeout(t);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1 and calls `onRequest` once the whole body is in.
 * close() drops keep-alive connections and held requests, so it returns at once.
 */
export async function listenLocal(
  faults: FaultQueue,
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) => void,
): Promise<RunningServer> {
  const server = http.createServer((req, res) => {
    // A body cut off midway means the client has gone: there is no one to answer.
    readBody(req).then((raw) => onRequest(req, res, raw), () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        faults.releaseHolds();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Serves `handle` with faults applied first; a `status` fault answers with its `body`, or a
 * generic error when it has none.
 */
export function serve(
  faults: FaultQueue,
  handle: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void,
): Promise<RunningServer> {
  return listenLocal(faults, (req, res, raw) => {
    faults
      .actOut(req.url ?? '', req, res, (fault, headers) => sendJson(res, fault.status, fault.body ?? { error: { message: `injected ${fault.status}` } }, headers))
      .then((settled) => settled || handle(req, raw.toString('utf8'), res))
      .catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: `contract server bug: ${err.message}` } });
      });
  });
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
