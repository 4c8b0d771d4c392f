/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. One per request.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private waiting: Promise<void> = Promise.resolve();

  constructor(private readonly rate: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Resolves when a token is available; callers are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const next = this.waiting.then(() => this.acquire(signal));
    this.waiting = next.catch(() => undefined);
    return next;
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= 1 || signal?.aborted) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.rate) * 1000)));
    }
  }
}
