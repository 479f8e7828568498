/**
 * Response budgets: the `VGI-Accept-Max-Response-Bytes` request header and
 * the effective limits a call runs under (the reference's
 * docs/http-response-budgets.md and its language-neutral vectors).
 *
 * The header is one ASCII positive decimal in `65536..2^53-1`, no sign, no
 * leading zero, no exponent, no list; anything else is a 400 with an Arrow
 * `ValueError` and `X-VGI-RPC-Error: true` (also on OPTIONS). The effective
 * hard limit is the minimum of every limit present (application, hosting,
 * client); the preferred size is a batching target clamped to it. The
 * init-time limit is sealed into the call token: a continuation may tighten
 * it, never raise it.
 */

/** Request header: the most decoded response bytes the client accepts. */
export const ACCEPT_MAX_RESPONSE_BYTES_HEADER = 'VGI-Accept-Max-Response-Bytes';
/** Response header every response carries (`true`): the server honours the request header. */
export const ACCEPT_MAX_RESPONSE_BYTES_SUPPORT_HEADER = 'VGI-Accept-Max-Response-Bytes-Support';
/** Smallest accepted budget (64 KiB): smaller limits are refused across every SDK. */
export const MIN_RESPONSE_BUDGET_BYTES = 65536;
/** Largest accepted budget: 2^53-1, the portable maximum. */
export const MAX_RESPONSE_BUDGET_BYTES = Number.MAX_SAFE_INTEGER;

/** The budget header's value is not valid (400, reported as an Arrow `ValueError`). */
export class ResponseBudgetHeaderError extends Error {
  override readonly name = 'ResponseBudgetHeaderError';
  /** Error type written on the wire. */
  readonly errorType = 'ValueError';
  readonly status = 400;

  constructor(
    readonly raw: string,
    reason: string,
  ) {
    super(`Invalid ${ACCEPT_MAX_RESPONSE_BYTES_HEADER}: ${reason}`);
  }
}

const MAX_DIGITS = String(MAX_RESPONSE_BUDGET_BYTES).length;

/**
 * Parse the header's value (as the engine delivers it: repeated fields are
 * joined with `, ` and so refused). Undefined when the header is absent.
 */
export const parseAcceptMaxResponseBytes = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  // ASCII digits only: \d in a non-unicode regex is [0-9], so Arabic-Indic digits fail here.
  if (!/^[1-9][0-9]*$/.test(raw)) throw new ResponseBudgetHeaderError(raw, 'must be a positive decimal integer without sign, leading zeros or separators');
  // Compare as text before converting: a long digit string must not round into range.
  if (raw.length > MAX_DIGITS || (raw.length === MAX_DIGITS && raw > String(MAX_RESPONSE_BUDGET_BYTES))) {
    throw new ResponseBudgetHeaderError(raw, `must not exceed ${MAX_RESPONSE_BUDGET_BYTES}`);
  }
  const value = Number(raw);
  if (value < MIN_RESPONSE_BUDGET_BYTES) throw new ResponseBudgetHeaderError(raw, `must be at least ${MIN_RESPONSE_BUDGET_BYTES}`);
  return value;
};

/** The engine's (lower-case) request headers' budget, or undefined when absent; throws {@link ResponseBudgetHeaderError}. */
export const acceptMaxResponseBytesOf = (headers: ReadonlyMap<string, string>): number | undefined =>
  parseAcceptMaxResponseBytes(headers.get(ACCEPT_MAX_RESPONSE_BYTES_HEADER.toLowerCase()));

/** The limits a call runs under; an absent field means none. */
export interface ResponseBudget {
  /** Hard cap on the decoded response body. */
  readonly limitBytes?: number;
  /** Batching target, never above `limitBytes`. */
  readonly preferredBytes?: number;
}

/** The smallest of the limits present, or undefined when none is. */
export const minimumLimit = (...limits: ReadonlyArray<number | undefined>): number | undefined => {
  let min: number | undefined;
  for (const limit of limits) if (limit !== undefined && (min === undefined || limit < min)) min = limit;
  return min;
};

const budget = (limitBytes: number | undefined, preferred: number | undefined): ResponseBudget => {
  const preferredBytes = preferred !== undefined && limitBytes !== undefined ? Math.min(preferred, limitBytes) : preferred;
  return { ...(limitBytes === undefined ? {} : { limitBytes }), ...(preferredBytes === undefined ? {} : { preferredBytes }) };
};

/** Where each limit of a request comes from. */
export interface BudgetSources {
  /** The server's `max_response_bytes`. */
  readonly application?: number;
  /** The hosting layer's `hosting_max_response_bytes`. */
  readonly hosting?: number;
  /** The client's `VGI-Accept-Max-Response-Bytes`. */
  readonly client?: number;
  /** The server's `preferred_response_bytes`. */
  readonly preferred?: number;
}

/** The effective budget: the minimum hard limit, the preferred size clamped to it. */
export const effectiveResponseBudget = (sources: BudgetSources): ResponseBudget =>
  budget(minimumLimit(sources.application, sources.hosting, sources.client), sources.preferred);

/** The effective request cap: the same minimum rule over `max_request_bytes` and the hosting cap. */
export const effectiveRequestLimit = (application: number | undefined, hosting: number | undefined): number | undefined =>
  minimumLimit(application, hosting);

/**
 * A continuation's budget: the init-time budget sealed in the call token,
 * tightened (never raised) by the continuation's own effective budget.
 */
export const continuationBudget = (sealed: ResponseBudget, current: ResponseBudget): ResponseBudget =>
  budget(minimumLimit(sealed.limitBytes, current.limitBytes), minimumLimit(sealed.preferredBytes, current.preferredBytes));
