/**
 * The benchmark's webhook receiver, run as a child process so its parsing CPU and its copy of
 * the audience never count against the engine being measured. It implements the webhook
 * contract (adapters/destination/webhook): POST JSON batches, answer {"results": []}, and keeps
 * the state the operations produce so the benchmark can check it equals the source.
 *
 * Talks to its parent over IPC: announces its port, answers `stats`, and writes its state to a
 * CSV file on `dump` (the parent compares that file with the source inside DuckDB).
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SinkRequest = { type: 'stats' } | { type: 'dump'; file: string };

export interface SinkStats {
  requests: number;
  operations: number;
  /** Largest batch seen, to check the configured batch size is what goes over the wire. */
  maxBatch: number;
  bytes: number;
  /** Requests the sink refused as malformed; must stay 0. */
  problems: number;
  keys: number;
  rssMb: number;
}

type Operation = { op: string; key: string; fields?: Record<string, unknown> };

/** key -> [email, first_name]: a tuple keeps a million members to a few tens of MB. */
const state = new Map<string, [string, string]>();
const stats = { requests: 0, operations: 0, maxBatch: 0, bytes: 0, problems: 0 };

function refuse(res: http.ServerResponse, code: number, message: string): void {
  stats.problems++;
  res.writeHead(code, { 'content-type': 'text/plain' });
  res.end(message);
}

const OK_BODY = JSON.stringify({ results: [] });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST') return refuse(res, 405, 'POST only');
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'content-type must be application/json');
    const batchId = req.headers['idempotency-key'];
    const raw = Buffer.concat(chunks);
    let body: { batch_id?: string; operations?: Operation[] };
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return refuse(res, 400, 'body is not JSON');
    }
    if (typeof batchId !== 'string' || body.batch_id !== batchId || !Array.isArray(body.operations)) return refuse(res, 400, 'need batch_id (= Idempotency-Key) and operations');
    for (const o of body.operations) {
      if (o.op === 'add' || o.op === 'upsert') state.set(o.key, [String(o.fields?.email ?? ''), String(o.fields?.first_name ?? '')]);
      else if (o.op === 'remove' || o.op === 'delete') state.delete(o.key);
      else return refuse(res, 400, `unknown op ${String(o.op)}`);
    }
    stats.requests++;
    stats.operations += body.operations.length;
    stats.maxBatch = Math.max(stats.maxBatch, body.operations.length);
    stats.bytes += raw.length;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(OK_BODY);
  });
});

const csv = (v: string) => `"${v.replace(/"/g, '""')}"`;

async function dump(file: string): Promise<void> {
  const out = createWriteStream(file);
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('profile_id,email,first_name\n');
  let chunk = '';
  for (const [key, [email, first]] of state) {
    chunk += `${csv(key)},${csv(email)},${csv(first)}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

process.on('message', (msg: SinkRequest) => {
  if (msg.type === 'stats') {
    const s: SinkStats = { ...stats, keys: state.size, rssMb: process.memoryUsage.rss() / 2 ** 20 };
    process.send?.({ type: 'stats', stats: s });
  } else if (msg.type === 'dump') {
    dump(msg.file).then(
      () => process.send?.({ type: 'dumped' }),
      (err: Error) => process.send?.({ type: 'error', message: err.message }),
    );
  }
});
process.on('disconnect', () => process.exit(0));

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}/hook` });
});
