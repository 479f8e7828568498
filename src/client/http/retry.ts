/**
 * Retrying transient HTTP failures, as the reference's client does
 * (`vgi_rpc/http/_retry.py`): a request that could not be sent or got no
 * response (connection refused or reset, fetch rejected), or that was
 * answered 429, 502, 503 or 504, is sent again after an exponential backoff
 * with full jitter, at least as long as a `Retry-After` asks (capped).
 *
 * Only requests whose replay cannot apply an effect twice that the caller
 * already saw are retried, the ones the reference retries: the capability
 * probe, unary calls, stream `/init` and producer continuations (a producer
 * turn re-sent with the same cursor re-reads the same position). Exchange
 * turns and cancels are never retried: the server may have processed the
 * input before a proxy failed.
 */
import { discardBody } from './content-coding.js';
import { HttpHeader } from './wire-headers.js';

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 disables retrying). Default 3. */
  readonly maxRetries: number;
  /** Backoff base: the n-th retry waits up to `baseDelayMs * 2^n`. Default 250. */
  readonly baseDelayMs: number;
  /** Longest wait between attempts, also the cap on a `Retry-After`. Default 10000. */
  readonly maxDelayMs: number;
}

/** The default policy. */
export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 250, maxDelayMs: 10_000 };

/** Statuses proxies and overloaded servers answer transient failures with. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The policy from an option: false disables retrying, a partial policy fills in the defaults. */
export const retryPolicy = (option: Partial<RetryPolicy> | false | undefined): RetryPolicy => {
  if (option === false) return { ...DEFAULT_RETRY, maxRetries: 0 };
  const p = { ...DEFAULT_RETRY, ...option };
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isFinite(v) || v < 0) throw new TypeError(`retry.${k} must be a non-negative number, got ${v}`);
  }
  return p;
};

/** A `Retry-After` value in milliseconds (delta-seconds or an HTTP date), or undefined. */
export const parseRetryAfter = (raw: string | null, now = Date.now()): number | undefined => {
  if (raw === null) return undefined;
  const text = raw.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

/** How long to wait before retry number `attempt` (0-based). */
export const backoffDelay = (policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random = Math.random): number => {
  const jittered = random() * policy.baseDelayMs * 2 ** attempt;
  const delay = Math.min(jittered, policy.maxDelayMs);
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, policy.maxDelayMs));
};

/** Resolve after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A policy that never retries. */
export const NO_RETRY: RetryPolicy = { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 };

/**
 * fetch `url`, retrying under `policy`: a rejected fetch (nothing was
 * answered, so nothing the caller saw can repeat) and a transient status are
 * tried again after the backoff; the last attempt's answer is returned, its
 * rejection thrown. `init` is called per attempt (a fresh request id each).
 */
export const fetchRetrying = async (fetchFn: typeof globalThis.fetch, url: string, init: () => RequestInit, policy: RetryPolicy): Promise<Response> => {
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= policy.maxRetries;
    let response: Response;
    try {
      response = await fetchFn(url, init());
    } catch (e) {
      if (last) throw e;
      await sleep(backoffDelay(policy, attempt, undefined));
      continue;
    }
    if (last || !TRANSIENT_STATUSES.has(response.status)) return response;
    const wait = backoffDelay(policy, attempt, parseRetryAfter(response.headers.get(HttpHeader.retryAfter)));
    await discardBody(response);
    await sleep(wait);
  }
};
