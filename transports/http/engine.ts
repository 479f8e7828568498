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
   * larger than the engine's `maxBodyBytes`: the engine stopped reading it
   * and the handler answers 413.
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
  /** Response headers, in order; names as they should appear. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Body chunks, written in order (may be empty). */
  readonly body: readonly Uint8Array[];
}

/** The server side of one HTTP request. */
export type HttpHandler = (request: HttpRequest) => HttpReply | Promise<HttpReply>;

/** Which engine serves: uWebSockets.js, node:http, or the first that works (`auto`, the default). */
export type HttpEngineName = 'uws' | 'node' | 'auto';

/** How to start an engine. */
export interface HttpEngineOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Bodies larger than this are not read (the request reaches the handler with `body` undefined). */
  readonly maxBodyBytes: number;
  readonly handler: HttpHandler;
}

/** A listening engine. */
export interface HttpListener {
  /** `uws` or `node`: which engine `auto` chose. */
  readonly engine: 'uws' | 'node';
  readonly port: number;
  /** Stop accepting; requests in flight still get their replies. */
  close(): Promise<void>;
  /** Requests read but not yet answered. */
  readonly inFlight: number;
}
