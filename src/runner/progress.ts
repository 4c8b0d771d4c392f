/**
 * What a person sees while a run goes: on a terminal, a live status line (done/total,
 * running nodes, elapsed) under the finished lines; elsewhere, plain lines only.
 */
import type { GraphNode } from '../compiler/graph.js';
import type { NodeResult, SchedulerEvents } from './scheduler.js';

const LABEL: Record<string, string> = {
  success: 'OK', pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR', skipped: 'SKIP',
};

export interface ProgressOptions {
  total: number;
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  quiet?: boolean;
}

export class Progress implements SchedulerEvents {
  private done = 0;
  private readonly running = new Map<string, string>();
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly live: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.live = Boolean(opts.out.isTTY) && !opts.quiet && !process.env.CI;
    if (this.live) {
      this.timer = setInterval(() => this.drawStatus(), 250);
      this.timer.unref();
    }
  }

  onStart(node: GraphNode): void {
    this.running.set(node.id, node.name);
    this.drawStatus();
  }

  onFinish(result: NodeResult): void {
    this.running.delete(result.id);
    this.done++;
    if (this.opts.quiet) return;
    const width = String(this.opts.total).length;
    const counter = `${String(this.done).padStart(width)} of ${this.opts.total}`;
    const label = (LABEL[result.status] ?? result.status.toUpperCase()).padEnd(5);
    const kind = result.resourceType.padEnd(5);
    const timing = result.status === 'skipped' ? '' : ` [${result.seconds.toFixed(2)}s]`;
    this.clearStatus();
    this.opts.out.write(`${counter}  ${label} ${kind} ${result.name}: ${result.message}${timing}\n`);
    this.drawStatus();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clearStatus();
  }

  private clearStatus(): void {
    if (this.live) this.opts.out.write('\r\x1b[K');
  }

  private drawStatus(): void {
    if (!this.live) return;
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1);
    const names = [...this.running.values()];
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ` +${names.length - 3}` : '');
    const columns = (this.opts.out as NodeJS.WriteStream).columns ?? 100;
    const line = `[${this.done}/${this.opts.total}] ${elapsed}s${shown ? ` running: ${shown}` : ''}`;
    this.opts.out.write(`\r\x1b[K${line.slice(0, columns - 1)}`);
  }
}
