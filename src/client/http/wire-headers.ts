/**
 * The HTTP header names and values of the vgi-rpc HTTP transport that the
 * client sends or reads (protocol-facts §2.3, protocol-delta §5.2-5.4).
 */

/** Media type of every request and response body: one or more Arrow IPC streams. */
export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** Header names, in their canonical spelling (HTTP compares them case-insensitively). */
export const HttpHeader = {
  contentType: 'Content-Type',
  contentEncoding: 'Content-Encoding',
  contentLength: 'Content-Length',
  acceptEncoding: 'Accept-Encoding',
  /** The client's codec list on a channel browsers let scripts set (they forbid `Accept-Encoding`). */
  vgiAcceptEncoding: 'X-VGI-Accept-Encoding',
  /** The response codec when it was chosen only through `X-VGI-Accept-Encoding`: never undone by fetch. */
  vgiContentEncoding: 'X-VGI-Content-Encoding',
  /** Set on a 200 whose body is an EXCEPTION batch (a server error rewritten to 200). */
  rpcError: 'X-VGI-RPC-Error',
  requestId: 'X-Request-ID',
  retryAfter: 'Retry-After',
  authReason: 'VGI-Auth-Reason',
  /** The client's response budget (decoded bytes). */
  acceptMaxResponseBytes: 'VGI-Accept-Max-Response-Bytes',
  /** `true` on every response of a server that honours the budget header. */
  acceptMaxResponseBytesSupport: 'VGI-Accept-Max-Response-Bytes-Support',
  maxRequestBytes: 'VGI-Max-Request-Bytes',
  maxResponseBytes: 'VGI-Max-Response-Bytes',
  supportedEncodings: 'VGI-Supported-Encodings',
} as const;

/** The smallest response budget a client may announce (the grammar's lower bound). */
export const MIN_RESPONSE_BUDGET = 64 * 1024;

/** The response budget announced by default: 256 MiB of decoded Arrow bytes. */
export const DEFAULT_RESPONSE_BUDGET = 256 * 1024 * 1024;
