/**
 * `file`: an outbox on disk, one file per sync run (JSON Lines or CSV), written atomically
 * per batch by appending whole lines. Used by the demo and by anyone who wants to see exactly
 * what a sync would send.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Destination, DestinationFactory, Operation } from '../../../src/destination/types.js';

const MODES = ['audience', 'upsert', 'update', 'insert', 'mirror'] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Fields the engine holds as JSON text go in as they are, unless their whitespace would break the line. */
function jsonLine(op: Operation): string {
  const fields = op.fieldsJson !== undefined && !/[\n\r]/.test(op.fieldsJson) ? op.fieldsJson : JSON.stringify(op.fields);
  return `{"op":${JSON.stringify(op.op)},"key":${JSON.stringify(op.key)},"fields":${fields}}`;
}

export const factory: DestinationFactory = {
  type: 'file',
  validateConfig(config) {
    const problems: [string, string][] = [];
    if (config.format !== undefined && config.format !== 'jsonl' && config.format !== 'csv') problems.push(['format', 'format must be jsonl or csv']);
    if (config.path !== undefined && typeof config.path !== 'string') problems.push(['path', 'path must be a directory name']);
    return problems;
  },
  create(config, projectDir): Destination {
    const dir = path.resolve(projectDir, String(config.path ?? 'outbox'));
    const format = (config.format as 'jsonl' | 'csv' | undefined) ?? 'jsonl';
    const headersWritten = new Set<string>();
    return {
      type: 'file',
      capabilities: {
        modes: [...MODES],
        batchSize: Number(config.batch_size ?? 10_000),
        concurrency: 1,
        supportsRemoval: true,
        identifiers: [],
      },
      async send(batch: Operation[], ctx) {
        const file = path.join(dir, ctx.sync, `${ctx.runId}.${format}`);
        mkdirSync(path.dirname(file), { recursive: true });
        let text: string;
        if (format === 'jsonl') {
          text = batch.map(jsonLine).join('\n') + '\n';
        } else {
          const fields = [...new Set(batch.flatMap((op) => Object.keys(op.fields)))].sort();
          const header = headersWritten.has(file) ? '' : `${['op', 'key', ...fields].join(',')}\n`;
          headersWritten.add(file);
          text = header + batch.map((op) => [op.op, op.key, ...fields.map((f) => op.fields[f])].map(csvCell).join(',')).join('\n') + '\n';
        }
        appendFileSync(file, text);
        return batch.map((op) => ({ key: op.key, status: 'ok' as const }));
      },
    };
  },
};
