/**
 * `webhook`: our own contract (README, "Webhook contract"). POST JSON batches with an
 * Idempotency-Key and, when a secret is set, an HMAC-SHA256 signature of the raw body.
 */
import { createHmac } from 'node:crypto';
import { request } from '../../../src/destination/http.js';
import type { Destination, DestinationFactory, RowOutcome } from '../../../src/destination/types.js';

export const WEBHOOK_MAX_BATCH = 10_000;

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

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
        const body = JSON.stringify({ sync: ctx.sync, run_id: ctx.runId, batch_id: ctx.batchId, operations: batch.map((o) => ({ op: o.op, key: o.key, fields: o.fields })) });
        const res = await request(url, {
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
        });
        if (res.status >= 300) {
          const reason = `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
          return batch.map((o) => ({ key: o.key, status: 'rejected' as const, reason }));
        }
        const listed = ((res.body as { results?: { key: string; status: string; reason?: string }[] })?.results ?? []);
        const byKey = new Map(listed.map((r) => [String(r.key), r]));
        return batch.map((o): RowOutcome => {
          const r = byKey.get(o.key);
          if (!r || r.status === 'ok') return { key: o.key, status: 'ok' };
          if (r.status === 'retry') return { key: o.key, status: 'retry', reason: r.reason ?? 'destination asked to retry' };
          return { key: o.key, status: 'rejected', reason: r.reason ?? 'rejected by the destination' };
        });
      },
    };
  },
};
