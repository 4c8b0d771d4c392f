/**
 * A local receiver implementing the webhook contract (README, "Webhook contract"), with
 * fault injection. It validates every request, honours Idempotency-Key (a repeat with the same
 * body gets the first answer) and keeps the state the operations produce.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; times: number }
  | { kind: 'reset'; times: number }
  | { kind: 'delay'; ms: number; times: number }
  | { kind: 'reject'; keys: string[]; reason: string; times: number }
  | { kind: 'retry_rows'; keys: string[]; times: number }
  /** Applies the batch, then answers with `status`: the sender never learns that it arrived. */
  | { kind: 'apply_then_status'; status: number; times: number };

export interface WebhookServer {
  url: string;
  /** Members / records as the operations left them: key -> fields. */
  state: Map<string, Record<string, unknown>>;
  requests: { batchId: string; size: number }[];
  problems: string[];
  inject(fault: Fault): void;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: { secret?: string; maxBatch?: number; delayMs?: number } = {}): Promise<WebhookServer> {
  const faults: Fault[] = [];
  const state = new Map<string, Record<string, unknown>>();
  const requests: { batchId: string; size: number }[] = [];
  const problems: string[] = [];
  const answered = new Map<string, { raw: string; answer: string }>();
  const take = <K extends Fault['kind']>(kind: K): Extract<Fault, { kind: K }> | undefined => {
    const f = faults.find((x) => x.kind === kind && x.times > 0);
    if (f) f.times--;
    return f as Extract<Fault, { kind: K }> | undefined;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (take('reset')) return req.socket.destroy();
      const delay = take('delay');
      if (delay) await new Promise((r) => setTimeout(r, delay.ms));
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const status = take('status');
      if (status) {
        res.writeHead(status.status, status.retryAfter ? { 'retry-after': status.retryAfter } : {});
        return res.end('injected');
      }
      const fail = (code: number, message: string) => {
        problems.push(message);
        res.writeHead(code, { 'content-type': 'text/plain' });
        res.end(message);
      };
      if (req.method !== 'POST') return fail(405, 'POST only');
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return fail(415, 'content-type must be application/json');
      const batchId = req.headers['idempotency-key'];
      if (typeof batchId !== 'string' || !batchId) return fail(400, 'missing Idempotency-Key');
      if (opts.secret) {
        const expected = `sha256=${createHmac('sha256', opts.secret).update(raw).digest('hex')}`;
        if (req.headers['x-cdp-signature'] !== expected) return fail(401, 'bad signature');
      }
      // Idempotency: a repeated key with the same body gets the first answer, without applying
      // anything again; the same key with another body is the sender's mistake.
      const seen = answered.get(batchId);
      if (seen) {
        if (seen.raw !== raw) return fail(422, `Idempotency-Key ${batchId} reused with a different body`);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(seen.answer);
      }
      let body: { sync?: string; run_id?: string; batch_id?: string; operations?: { op: string; key: string; fields: Record<string, unknown> }[] };
      try {
        body = JSON.parse(raw);
      } catch {
        return fail(400, 'body is not JSON');
      }
      if (!body.sync || !body.run_id || body.batch_id !== batchId || !Array.isArray(body.operations)) return fail(400, 'body must have sync, run_id, batch_id (= Idempotency-Key) and operations');
      if (opts.maxBatch && body.operations.length > opts.maxBatch) return fail(413, `batch of ${body.operations.length} exceeds ${opts.maxBatch}`);
      // Row faults fire on the request that carries their keys, whatever the arrival order.
      const keysHere = new Set(body.operations.map((o) => o.key));
      const rowFault = <K extends 'reject' | 'retry_rows'>(kind: K) => {
        const f = faults.find((x) => x.kind === kind && x.times > 0 && (x as { keys: string[] }).keys.some((k) => keysHere.has(k)));
        if (f) f.times--;
        return f as Extract<Fault, { kind: K }> | undefined;
      };
      const rejected = rowFault('reject');
      const retried = rowFault('retry_rows');
      const results: { key: string; status: string; reason?: string }[] = [];
      for (const op of body.operations) {
        if (!['add', 'remove', 'upsert', 'delete'].includes(op.op) || typeof op.key !== 'string') return fail(400, `bad operation ${JSON.stringify(op)}`);
        if (rejected?.keys.includes(op.key)) {
          results.push({ key: op.key, status: 'rejected', reason: rejected.reason });
          continue;
        }
        if (retried?.keys.includes(op.key)) {
          results.push({ key: op.key, status: 'retry', reason: 'try again' });
          continue;
        }
        if (op.op === 'add' || op.op === 'upsert') state.set(op.key, op.fields);
        else state.delete(op.key);
      }
      requests.push({ batchId, size: body.operations.length });
      const lost = take('apply_then_status');
      if (lost) {
        res.writeHead(lost.status, { 'content-type': 'text/plain' });
        return res.end('applied, but answered with an error');
      }
      const answer = JSON.stringify({ results });
      answered.set(batchId, { raw, answer });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    state,
    requests,
    problems,
    inject: (f) => faults.push(f),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
