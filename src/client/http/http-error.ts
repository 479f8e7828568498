/**
 * The errors of HTTP answers that are not a 2xx: an `RpcClientError` that
 * also carries the status (and, for a 401, the server's reason code). When
 * the body is an Arrow EXCEPTION batch (a 400 for a bad request or token, the
 * 404 of an unknown method) its error type, message and kind are kept;
 * otherwise the type names the status:
 *
 * | status | errorType |
 * | --- | --- |
 * | 401 | `AuthenticationError` (`authReason` from `VGI-Auth-Reason` or the JSON envelope) |
 * | 404 | `NotFoundError` |
 * | 413 | `RequestTooLargeError` |
 * | 415 | `UnsupportedMediaTypeError` |
 * | 429, 502, 503, 504 | `HttpTransientError` (`retryAfterMs` from `Retry-After`), after retries, if any |
 * | other | `HttpError` |
 */
import { RpcClientError, type RpcClientErrorFields, errorFields } from '../client-error.js';
import { HttpHeader } from './wire-headers.js';
import { parseRetryAfter } from './retry.js';

/** A non-2xx HTTP answer, as a client error. */
export class HttpError extends RpcClientError {
  /** The HTTP status. */
  readonly status: number;
  /** A 401's reason code (`missing_credential`, `invalid_credential`, ...). */
  readonly authReason: string | undefined;
  /** How long a 429/503 asked the client to wait, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  /** Build from the error fields and the HTTP facts. */
  constructor(fields: RpcClientErrorFields, http: { readonly status: number; readonly authReason?: string | undefined; readonly retryAfterMs?: number | undefined }) {
    super(fields);
    this.status = http.status;
    this.authReason = http.authReason;
    this.retryAfterMs = http.retryAfterMs;
  }
}

/** Longest part of a non-Arrow body kept in a message: enough to recognise an intermediary's page. */
const MAX_DETAIL = 500;

const typeOfStatus = (status: number): string => {
  switch (status) {
    case 401:
      return 'AuthenticationError';
    case 404:
      return 'NotFoundError';
    case 413:
      return 'RequestTooLargeError';
    case 415:
      return 'UnsupportedMediaTypeError';
    case 429:
    case 502:
    case 503:
    case 504:
      return 'HttpTransientError';
    default:
      return 'HttpError';
  }
};

/** A readable detail from a non-Arrow body: the JSON envelope's detail, else the text (an HTML page only named). */
const detailOf = (text: string): { detail: string; reason: string | undefined } => {
  const trimmed = text.trim();
  try {
    const json = JSON.parse(trimmed) as unknown;
    if (json !== null && typeof json === 'object') {
      const o = json as Record<string, unknown>;
      const detail = [o.detail, o.error, o.message].find((v): v is string => typeof v === 'string' && v !== '');
      return { detail: detail ?? trimmed.slice(0, MAX_DETAIL), reason: typeof o.reason === 'string' ? o.reason : undefined };
    }
  } catch {
    // not JSON
  }
  if (/^<(!doctype|html)/i.test(trimmed)) return { detail: 'the server answered with an HTML page', reason: undefined };
  return { detail: trimmed.slice(0, MAX_DETAIL), reason: undefined };
};

/**
 * The error of a non-2xx answer. `serverError` is the EXCEPTION batch its
 * Arrow body carried, if any; `text` the body otherwise.
 */
export const httpStatusError = (status: number, headers: Headers, serverError: RpcClientError | undefined, text: string): HttpError => {
  const requestId = headers.get(HttpHeader.requestId) ?? undefined;
  const retryAfterMs = parseRetryAfter(headers.get(HttpHeader.retryAfter));
  if (serverError !== undefined) {
    return new HttpError({ ...errorFields(serverError), requestId: serverError.requestId ?? requestId }, { status, retryAfterMs });
  }
  const { detail, reason } = detailOf(text);
  const authReason = status === 401 ? (headers.get(HttpHeader.authReason)?.trim() || reason || 'unauthorized') : undefined;
  const message = `HTTP ${status}${detail === '' ? '' : `: ${detail}`}`;
  return new HttpError(
    { errorType: typeOfStatus(status), message, errorKind: undefined, traceback: '', requestId, serverId: undefined, errorCode: 'UNKNOWN', errorDetails: [], local: false },
    { status, authReason, retryAfterMs },
  );
};
