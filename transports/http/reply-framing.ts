/**
 * How an HttpReply becomes bytes on the wire, decided the same way by both
 * engines: which headers the engine owns, whether a body is written at all
 * (never for HEAD, 1xx, 204, 304), the Content-Length, and whether the
 * connection closes after the reply. Also the reply an engine gives when the
 * handler itself fails.
 */
import { STATUS_CODES } from 'node:http';
import { diagnostic } from '../../runtime/diagnostics.js';
import type { HttpReply } from './engine.js';

/** An HttpReply prepared for writing. */
export interface FramedReply {
  readonly status: number;
  /** The handler's headers minus the ones the engine owns. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Body chunks to write (empty when the reply has no body: HEAD, 1xx, 204, 304). */
  readonly chunks: readonly Uint8Array[];
  /** Sum of `chunks`' lengths. */
  readonly bodyBytes: number;
  /**
   * The Content-Length to announce, or `undefined` for none (1xx, 204, 304).
   * For HEAD it is the handler's own `content-length` header when it gave
   * one (the size a GET would have), else the length of the body it returned.
   */
  readonly contentLength: number | undefined;
  /** The handler asked for `connection: close`. */
  readonly close: boolean;
}

/**
 * Framing headers are the engine's: it writes Content-Length itself (from the
 * body), never chunks, writes Date, and decides about the connection (a
 * handler's `connection: close` is honoured by closing after the reply).
 */
const ENGINE_OWNED = new Set(['content-length', 'transfer-encoding', 'connection', 'date', 'keep-alive']);

/** RFC 9110 token characters: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a header value must not hold: uWS writes values as given, so CR/LF would let a value inject headers. */
const UNSAFE_VALUE = /[\r\n\0]/;

/** Prepare `reply` to the request made with `method`; throws TypeError on a header that is not valid HTTP. */
export const frameReply = (reply: HttpReply, method: string): FramedReply => {
  let headers: Array<readonly [string, string]> | undefined;
  let declaredLength: number | undefined;
  let close = false;
  for (let i = 0; i < reply.headers.length; i++) {
    const header = reply.headers[i]!;
    if (typeof header[0] !== 'string' || !TOKEN.test(header[0])) throw new TypeError(`invalid response header name ${JSON.stringify(header[0])}`);
    if (typeof header[1] !== 'string' || UNSAFE_VALUE.test(header[1])) throw new TypeError(`invalid value for response header ${header[0]}`);
    const name = header[0].toLowerCase();
    if (!ENGINE_OWNED.has(name)) {
      headers?.push(header);
      continue;
    }
    // The first engine-owned header: copy what came before it, then skip owned ones from here on.
    headers ??= reply.headers.slice(0, i);
    if (name === 'content-length') {
      const n = Number(header[1]);
      if (Number.isSafeInteger(n) && n >= 0) declaredLength = n;
    } else if (name === 'connection' && /(^|,)\s*close\s*(,|$)/i.test(header[1])) {
      close = true;
    }
  }
  let bodyBytes = 0;
  for (const chunk of reply.body) bodyBytes += chunk.byteLength;
  const status = reply.status;
  const noBodyStatus = status < 200 || status === 204 || status === 304;
  const head = method === 'HEAD';
  return {
    status,
    headers: headers ?? reply.headers,
    chunks: head || noBodyStatus ? [] : reply.body,
    bodyBytes: head || noBodyStatus ? 0 : bodyBytes,
    contentLength: noBodyStatus ? undefined : head ? declaredLength ?? bodyBytes : bodyBytes,
    close,
  };
};

const statusLines = new Map<number, string>();

/** `413 Payload Too Large`: the status line's code and reason. */
export const statusLine = (status: number): string => {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
};

const INTERNAL_ERROR_BODY = new TextEncoder().encode('internal server error\n');

/** What an engine answers when the handler throws or rejects (the error is logged, not sent). */
export const handlerFailed = (error: unknown, method: string, path: string): HttpReply => {
  diagnostic('error')(`HTTP handler failed on ${method} ${path}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  return { status: 500, headers: [['content-type', 'text/plain; charset=utf-8']], body: [INTERNAL_ERROR_BODY] };
};

/** Whether a handler's result must be awaited. */
export const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';
