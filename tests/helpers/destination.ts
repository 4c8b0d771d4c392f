/**
 * Assertions several destination test files make alike.
 */
import { expect } from 'vitest';
import { RetryableBatchError } from '../../src/destination/types.js';
import type { Fault } from '../contract/faults.js';

/**
 * The transport failures every HTTP connector must hand back to the engine as retryable:
 * 429 (whose Retry-After must reach the engine as `retryAfter.ms`), 500, 503, a reset, and an
 * answer held for 2 s, so `send` must use a connector whose timeout is shorter than that.
 */
export async function expectTransportFaultsRetryable(
  server: { inject(fault: Fault): void },
  send: () => Promise<unknown>,
  retryAfter: { header: string; ms: number },
): Promise<void> {
  server.inject({ kind: 'status', status: 429, retryAfter: retryAfter.header });
  const limited = await send().catch((e: unknown) => e);
  expect(limited).toBeInstanceOf(RetryableBatchError);
  expect((limited as RetryableBatchError).retryAfterMs).toBe(retryAfter.ms);
  for (const status of [500, 503]) {
    server.inject({ kind: 'status', status });
    await expect(send()).rejects.toBeInstanceOf(RetryableBatchError);
  }
  server.inject({ kind: 'reset' });
  await expect(send()).rejects.toBeInstanceOf(RetryableBatchError);
  server.inject({ kind: 'delay', ms: 2000 });
  await expect(send()).rejects.toBeInstanceOf(RetryableBatchError);
}
