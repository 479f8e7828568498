/**
 * The one request interface every HTTP engine adapts to: uWebSockets.js
 * (where its native binary loads) and node:http. An engine reads the whole
 * request (headers copied out at once, the body copied once and capped),
 * hands it to the server's handler, and writes the handler's reply with
 * backpressure. The handler never sees an engine object, so the HTTP
 * contract (src/http) and the runtime know nothing about either engine.
 */

/** One HTTP request, read in full by the engine. */
export interface HttpRequest {
  /** The verb, upper case (`GET`, `POST`, ...). */
  readonly method: string;
  /** The path part of the URL, percent-encoding untouched, without the query. */
  readonly path: string;
  /** The query string without `?` (empty when none). */
  readonly query: string;
  /** Request headers with lower-case names (repeated headers joined with `, `). */
  readonly headers: ReadonlyMap<string, string>;
  /**
   * The body as received (still content-coded), or `undefined` when it was
   * larger than the engine's `maxBodyBytes`: the engine stopped collecting
   * it and the handler answers 413 (see `HttpEngineOptions.maxBodyBytes`
   * for when that answer is written).
   */
  readonly body: Uint8Array | undefined;
  /** Fires once if the client goes away before the reply is written (never after). */
  readonly aborted: AbortSignal;
  /** The peer's address as text (for logs). */
  readonly remoteAddress: string;
}

/** What the handler answers; the engine writes it, or drops it if the request was aborted. */
export interface HttpReply {
  readonly status: number;
  /**
   * Response headers, in order; names as they should appear. Framing is the
   * engine's: it drops `content-length`, `transfer-encoding`, `connection`,
   * `keep-alive` and `date` from here and writes its own (Content-Length
   * from the body, Date); a `connection: close` here makes it close the
   * connection after the reply. On HEAD, a `content-length` given here is
   * the one announced (the size a GET would have). A name that is not an
   * HTTP token or a value with CR, LF or NUL makes the reply a 500.
   */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Body chunks, written in order (may be empty); never written for HEAD, 1xx, 204 and 304. */
  readonly body: readonly Uint8Array[];
  /**
   * Called once when the engine holds the body no more: written to the
   * socket in full, or dropped (the client went away, the reply failed).
   * From then on the body's buffers may be reused (the worker hop hands
   * large reply buffers back to the worker that filled them).
   */
  readonly onWritten?: () => void;
}

/**
 * The server side of one HTTP request. When it throws or rejects, the
 * engine logs the error and answers 500 with a plain-text body.
 */
export type HttpHandler = (request: HttpRequest) => HttpReply | Promise<HttpReply>;

/** Which engine serves: uWebSockets.js, node:http, or the first that works (`auto`, the default). */
export type HttpEngineName = 'uws' | 'node' | 'auto';

/** How to start an engine. */
export interface HttpEngineOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Bodies larger than this are not kept: the request reaches the handler
   * with `body` undefined as soon as the body passes the cap (at once when
   * its Content-Length says so). The engine goes on reading and discarding
   * the rest, up to OVERSIZE_DRAIN_BYTES (transports/http/request-body),
   * writes the handler's answer once the body has ended, and closes the
   * connection after it (`Connection: close`). Clients that send their whole
   * body before reading would otherwise see a reset instead of the 413.
   * Past that amount (or when the Content-Length is more than that over the
   * cap) the answer is written at once and the connection closed.
   */
  readonly maxBodyBytes: number;
  readonly handler: HttpHandler;
}

/** A listening engine. */
export interface HttpListener {
  /** `uws` or `node`: which engine `auto` chose. */
  readonly engine: 'uws' | 'node';
  readonly port: number;
  /**
   * Stop accepting; requests in flight still get their replies (with
   * `Connection: close`); then idle keep-alive connections are closed.
   * Resolves when all that is done. Calling it again returns the same promise.
   */
  close(): Promise<void>;
  /** Requests begun and not yet done: being read, awaiting the handler's reply, or being written. */
  readonly inFlight: number;
}
