/**
 * `webhook`: our own contract (README, "Webhook contract"). POST JSON batches with an
 * Idempotency-Key and, when a secret is set, an HMAC-SHA256 signature of the raw body.
 */
import { createHmac } from 'node:crypto';
import { request } from '../../../src/destination/http.js';
import type { DeliveryContext, Destination, DestinationFactory, Operation, RowOutcome } from '../../../src/destination/types.js';

export const WEBHOOK_MAX_BATCH = 10_000;

export function signature(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Request bodies are written straight into bytes, in buffers reused from one request to the next:
 * fields the engine already holds as JSON text go in as they are, and neither a megabyte-sized
 * string nor a fresh buffer per request is left for the garbage collector.
 */
class BodyWriter {
  private readonly free: Buffer<ArrayBuffer>[] = [];

  /** Writes the body, hands it to `send`, and takes the buffer back once the request is over. */
  async send<T>(batch: Operation[], ctx: DeliveryContext, send: (body: Buffer<ArrayBuffer>) => Promise<T>): Promise<T> {
    let buf = this.free.pop() ?? Buffer.allocUnsafe(4096 + batch.length * 128);
    let at = 0;
    const write = (text: string) => {
      // At most three bytes per UTF-16 unit: grow before writing so nothing is cut short.
      if (at + text.length * 3 > buf.length) {
        const next = Buffer.allocUnsafe(Math.max(buf.length * 2, at + text.length * 3));
        buf.copy(next, 0, 0, at);
        buf = next;
      }
      at += buf.write(text, at);
    };
    write(`{"sync":${JSON.stringify(ctx.sync)},"run_id":${JSON.stringify(ctx.runId)},"batch_id":${JSON.stringify(ctx.batchId)},"operations":[`);
    batch.forEach((o, i) => write(`${i ? ',' : ''}{"op":${JSON.stringify(o.op)},"key":${JSON.stringify(o.key)},"fields":${o.fieldsJson ?? JSON.stringify(o.fields)}}`));
    write(']}');
    try {
      return await send(buf.subarray(0, at));
    } finally {
      if (this.free.length < MAX_FREE_BUFFERS) this.free.push(buf);
    }
  }
}

/** Enough for every request in flight at the usual concurrency. */
const MAX_FREE_BUFFERS = 8;

export const factory: DestinationFactory = {
  type: 'webhook',
  validateConfig(config) {
    const problems: [string, string][] = [];
    if (typeof config.url !== 'string' || !/^https?:\/\//.test(config.url)) problems.push(['url', 'url must be an http(s) URL']);
    const size = config.batch_size;
    if (size !== undefined && (!Number.isInteger(size) || (size as number) < 1 || (size as number) > WEBHOOK_MAX_BATCH)) {
      problems.push(['batch_size', `batch_size must be between 1 and ${WEBHOOK_MAX_BATCH}`]);
    }
    return problems;
  },
  create(config): Destination {
    const url = String(config.url);
    const secret = config.secret === undefined ? undefined : String(config.secret);
    const headers = (config.headers ?? {}) as Record<string, string>;
    const bodies = new BodyWriter();
    return {
      type: 'webhook',
      capabilities: {
        modes: ['audience', 'upsert', 'update', 'insert', 'mirror'],
        batchSize: Number(config.batch_size ?? 1_000),
        concurrency: Number(config.concurrency ?? 4),
        requestsPerSecond: config.requests_per_second === undefined ? undefined : Number(config.requests_per_second),
        supportsRemoval: true,
        identifiers: [],
      },
      async send(batch, ctx) {
        const res = await bodies.send(batch, ctx, (body) =>
          request(url, {
            method: 'POST',
            body,
            signal: ctx.signal,
            timeoutMs: Number(config.timeout_ms ?? 30_000),
            headers: {
              ...headers,
              'content-type': 'application/json',
              'idempotency-key': ctx.batchId,
              ...(secret ? { 'x-cdp-signature': signature(secret, body) } : {}),
            },
          }));
        if (res.status >= 300) {
          const reason = `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
          return batch.map((o) => ({ key: o.key, status: 'rejected' as const, reason }));
        }
        // Only the rows the receiver names: the engine counts the others as ok.
        const listed = ((res.body as { results?: { key: string; status: string; reason?: string }[] })?.results ?? []);
        return listed.flatMap((r): RowOutcome[] => {
          const key = String(r.key);
          if (r.status === 'ok') return [];
          if (r.status === 'retry') return [{ key, status: 'retry', reason: r.reason ?? 'destination asked to retry' }];
          return [{ key, status: 'rejected', reason: r.reason ?? 'rejected by the destination' }];
        });
      },
    };
  },
};
