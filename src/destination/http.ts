/**
 * HTTP for connectors: one request with a timeout, and the status codes every destination
 * shares mapped to the engine's error classes.
 */
import { FatalDestinationError, RetryableBatchError } from './types.js';

export interface HttpResult {
  status: number;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  text: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Sends a request. 429 and 5xx, resets and timeouts throw RetryableBatchError; 401 and 403
 * throw FatalDestinationError; other statuses are returned for the connector to judge.
 */
export async function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer>; signal?: AbortSignal; timeoutMs?: number },
): Promise<HttpResult> {
  const timeout = AbortSignal.timeout(init.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { method: init.method ?? 'POST', headers: init.headers, body: init.body, signal });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new RetryableBatchError(`request to ${new URL(url).host} failed (${cause})`);
  }
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (res.status === 429) throw new RetryableBatchError(`rate limited (429) by ${new URL(url).host}`, retryAfterMs(res.headers.get('retry-after')));
  if (res.status >= 500) throw new RetryableBatchError(`server error ${res.status} from ${new URL(url).host}`, retryAfterMs(res.headers.get('retry-after')));
  if (res.status === 401 || res.status === 403) {
    throw new FatalDestinationError(`${new URL(url).host} refused the credentials (${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, body, text };
}
