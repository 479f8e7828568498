/**
 * A client connection over HTTP, with `fetch`: the same calls as the
 * byte-stream `RpcConnection` (so `Client.make` / `Client.promises` and the
 * reflected client work over it unchanged), each one an HTTP request:
 *
 * - unary: `POST {prefix}/{protocol}/{method}`, body = the request IPC stream;
 * - stream open: `POST {prefix}/{protocol}/{method}/init`;
 * - every later producer tick, exchange turn or cancel:
 *   `POST {prefix}/{protocol}/{method}/exchange`, echoing the state tokens
 *   (see HttpStreamSession).
 *
 * `httpConnect` first probes `HEAD {prefix}/health`: the server must answer
 * `VGI-Accept-Max-Response-Bytes-Support: true`; its capability headers
 * (codecs, size caps) are kept and refreshed from every answer. Every
 * request announces the client's response budget
 * (`VGI-Accept-Max-Response-Bytes`) and the codecs it decodes; a body larger
 * than the budget (or the server's own cap) fails with
 * `ResponseTooLargeError` without being read further. Transient failures are
 * retried (see retry.ts); other non-2xx answers become `HttpError`s.
 *
 * This module graph imports no Node module: it runs wherever `fetch` and
 * the compression streams exist (Node >= 20, browsers).
 */
import * as Effect from 'effect/Effect';
import type * as Scope from 'effect/Scope';
import { concatBytes } from '../../wire/batch-encoder.js';
import type { ExchangeMethod, ProducerMethod, UnaryMethod } from '../../service/method.js';
import { BatchView } from '../../service/stream-output.js';
import type { Fields, RecordOf } from '../../types/record.js';
import { RpcClientError, errorFields } from '../client-error.js';
import type { CallOptions, ClientConnection, StreamSession, Target } from '../call-surface.js';
import { encodeRequest } from '../request-encoding.js';
import { decodeResult } from '../response-frames.js';
import { type ServerCapabilities, checkResponseBudget, hasCapabilities, parseCapabilities } from './capabilities.js';
import { BodyTooLarge, DECODABLE_ENCODINGS, type ResponseCoding, decodeBody, discardBody, gzip, readAll, responseCoding } from './content-coding.js';
import { HttpError, httpStatusError } from './http-error.js';
import { BodyFrames, type HttpReply, isOk, logsOf, readHeaderStream, readTurn, readUnary, throwIfNotOk, withRequestId } from './http-response.js';
import { HttpStreamSession } from './http-stream-session.js';
import { NO_RETRY, type RetryPolicy, fetchRetrying, retryPolicy } from './retry.js';
import { ARROW_CONTENT_TYPE, HttpHeader } from './wire-headers.js';
import { SessionTrack } from './session-track.js';

/** Options of `httpConnect`. */
export interface HttpConnectOptions {
  /**
   * The largest decoded response body accepted, in bytes (at least 65536;
   * default 256 MiB). Sent as `VGI-Accept-Max-Response-Bytes`; a server with
   * a smaller cap lowers it.
   */
  readonly maxResponseBytes?: number;
  /** Headers sent on every request (e.g. `Authorization`); they override the client's own. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called once per HTTP request; its value is sent as `X-Request-ID` (by default the server mints one). */
  readonly requestId?: () => string;
  /** Retrying of transient failures: a partial policy over the defaults, or false for none. */
  readonly retry?: Partial<RetryPolicy> | false;
  /**
   * Gzip request bodies of at least this many bytes when the server
   * advertises gzip (default: requests are sent uncompressed).
   */
  readonly compressRequestsFrom?: number;
  /** The fetch to use (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch;
}

/** What a call made on (or pending when) a closed connection reports. */
const CLIENT_CLOSED = 'the client closed the connection';

/** Slack over the decoded limit allowed for a still-encoded body (compression can expand incompressible bytes a little). */
const encodedSlack = (limit: number): number => limit + Math.ceil(limit / 64) + 1024;

/** A request to send: its path under the base URL, body, and whether it may be retried. */
interface Post {
  readonly path: string;
  readonly body: readonly Uint8Array[];
  readonly retry: boolean;
  /** Named in errors ("for method 'x'"). */
  readonly method: string;
}

/** A connection to one vgi-rpc HTTP server. */
export class HttpConnection implements ClientConnection {
  private caps: ServerCapabilities;
  private readonly fetch: typeof globalThis.fetch;
  private readonly budget: number;
  private readonly policy: RetryPolicy;
  private readonly baseHeaders: Readonly<Record<string, string>>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;

  /** @internal Use `httpConnect`, which probes the server first (and `withSession` for a session scope). */
  constructor(
    /** The base URL, its path being the server's prefix (no trailing slash). */
    readonly url: string,
    capabilities: ServerCapabilities,
    private readonly options: HttpConnectOptions = {},
    private readonly session?: SessionTrack,
  ) {
    this.caps = capabilities;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.budget = checkResponseBudget(options.maxResponseBytes);
    this.policy = retryPolicy(options.retry);
    this.baseHeaders = {
      [HttpHeader.contentType]: ARROW_CONTENT_TYPE,
      [HttpHeader.vgiAcceptEncoding]: DECODABLE_ENCODINGS,
      // Ignored by browsers (a forbidden header); there fetch advertises and undoes its own codecs.
      [HttpHeader.acceptEncoding]: DECODABLE_ENCODINGS,
      [HttpHeader.acceptMaxResponseBytes]: String(this.budget),
      ...options.headers,
    };
  }

  /** What the server advertised, as of its latest answer. */
  get capabilities(): ServerCapabilities {
    return this.caps;
  }

  /** The largest response body read: the client's budget, lowered by the server's cap. */
  get responseLimit(): number {
    const server = this.caps.maxResponseBytes;
    return server !== undefined && server < this.budget ? server : this.budget;
  }

  /**
   * A sticky-session scope over this connection: a connection whose every
   * request opts in to a session (`VGI-Session-Accept: true`), carries the
   * session's token once the server minted one (or `token`, to resume a
   * session) and the echo headers the opening response named. Scopes are
   * independent: a nested one never touches its parent's token. Leave it
   * with `endSession()`.
   */
  withSession(token: string | null = null): HttpConnection {
    return new HttpConnection(this.url, this.caps, this.options, new SessionTrack(token));
  }

  /** Run `body` in a session scope (`withSession(token)`), ending the session after it however it ends. */
  async useSession<R>(body: (session: HttpConnection) => Promise<R>, token: string | null = null): Promise<R> {
    const session = this.withSession(token);
    try {
      return await body(session);
    } finally {
      await session.endSession();
    }
  }

  /** The session token in flight in this scope, or null (none opened yet, closed, detached, or not a session scope). */
  currentSessionToken(): string | null {
    return this.session?.token ?? null;
  }

  /** The `VGI-Echo-*` headers the session's opening response asked to be sent back (name -> value). */
  currentEchoHeaders(): ReadonlyMap<string, string> {
    return new Map(this.session?.echoHeaders ?? []);
  }

  /** Hand the session's token over (to resume elsewhere with `withSession(token)`): `endSession()` then leaves the session open. */
  detachSession(): string | null {
    return this.session?.detach() ?? null;
  }

  /**
   * Leave the session scope: a session still open gets a best-effort
   * `DELETE {prefix}/__session__` (failures are ignored: the server's TTL
   * ends it anyway); then this scope's calls finish as for `close()`.
   */
  async endSession(): Promise<void> {
    const s = this.session;
    if (s !== undefined && s.needsClose) {
      const headers: Record<string, string> = { ...this.options.headers };
      s.apply(headers);
      try {
        const response = await this.fetch(`${this.url}/__session__`, { method: 'DELETE', headers: this.withRequestId(headers) });
        s.capture(response.headers);
        await discardBody(response);
      } catch {
        // Best effort, as in the reference client.
      }
      s.detach();
    }
    await this.close();
  }

  /** The path of a method's route (`suffix`: '' for unary, '/init', '/exchange'). */
  routeOf(target: Target, name: string, suffix: '' | '/init' | '/exchange'): string {
    return `/${encodeURIComponent(target.protocol)}/${encodeURIComponent(name)}${suffix}`;
  }

  /** Track `p` until it settles, so `close()` can wait for it. */
  private track<A>(p: Promise<A>): Promise<A> {
    this.inFlight.add(p);
    const done = (): void => {
      this.inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  private checkOpen(): void {
    if (this.closing) throw RpcClientError.local('TransportError', CLIENT_CLOSED);
  }

  /** Call a unary method; resolves with its decoded result (undefined for void). */
  call<A>(target: Target, name: string, method: UnaryMethod, params: Record<string, unknown>, options: CallOptions = {}): Promise<A> {
    return this.track(this.callUnary(target, name, method, params, options)) as Promise<A>;
  }

  private async callUnary(target: Target, name: string, method: UnaryMethod, params: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    this.checkOpen();
    const out: Uint8Array[] = [];
    encodeRequest(out, target, name, method, params, options.metadata);
    const reply = await this.post({ path: this.routeOf(target, name, ''), body: out, retry: true, method: name });
    throwIfNotOk(reply);
    const requestId = reply.headers.get(HttpHeader.requestId);
    const { data, error } = readUnary(new BodyFrames(reply.body), logsOf(options.onLog, reply.headers));
    if (error !== undefined) throw withRequestId(error, requestId);
    if (data === undefined) throw RpcClientError.local('ProtocolError', 'the response carried no result batch');
    try {
      return decodeResult(method, data);
    } catch (e) {
      throw RpcClientError.local('TypeError', `cannot decode the result: ${(e as Error).message}`);
    }
  }

  /** Open a producer or exchange stream: sends `/init` and reads its header and first turn. */
  openStream<O extends Fields, I extends Fields = Fields, H extends Fields = Fields>(
    target: Target,
    name: string,
    method: ProducerMethod | ExchangeMethod,
    params: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<StreamSession<O, I, H>> {
    return this.track(this.initStream<O, I, H>(target, name, method, params, options));
  }

  private async initStream<O extends Fields, I extends Fields, H extends Fields>(
    target: Target,
    name: string,
    method: ProducerMethod | ExchangeMethod,
    params: Record<string, unknown>,
    options: CallOptions,
  ): Promise<StreamSession<O, I, H>> {
    this.checkOpen();
    const out: Uint8Array[] = [];
    encodeRequest(out, target, name, method, params, options.metadata);
    const reply = await this.post({ path: this.routeOf(target, name, '/init'), body: out, retry: true, method: name });
    throwIfNotOk(reply);
    const requestId = reply.headers.get(HttpHeader.requestId);
    const onLog = logsOf(options.onLog, reply.headers);
    const frames = new BodyFrames(reply.body);
    let header: RecordOf<H> | undefined;
    if (method.headerSchema !== undefined) {
      const h = readHeaderStream(frames, onLog);
      if (h.error !== undefined) throw withRequestId(h.error, requestId);
      if (h.header !== undefined) header = new BatchView(method.header as H, h.header, new Map()).rows()[0];
    }
    const first = readTurn(frames, onLog, false);
    // An error with nothing else is the stream failing to start: the open fails, as over a byte stream with a header.
    if (first.error !== undefined && first.data === undefined && first.cursor === undefined) throw withRequestId(first.error, requestId);
    const session = new HttpStreamSession<O, I, H>(this, target, name, method, options.onLog, first, requestId);
    session.header = header;
    return session;
  }

  /**
   * @internal Send one request (retried when `retry` and the failure is
   * transient) and read its answer, decoded and within the response limit.
   * Stream sessions send through here too, so after `close()` their turns
   * fail like new calls.
   */
  post(req: Post): Promise<HttpReply> {
    try {
      this.checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.track(this.postNow(req));
  }

  private async postNow(req: Post): Promise<HttpReply> {
    let body = concatBytes(req.body);
    const headers: Record<string, string> = { ...this.baseHeaders };
    const threshold = this.options.compressRequestsFrom;
    const compressed = threshold !== undefined && body.byteLength >= threshold && this.caps.supportedEncodings.includes('gzip');
    if (compressed) {
      body = await gzip(body);
      headers[HttpHeader.contentEncoding] = 'gzip';
    }
    this.session?.apply(headers);
    let response = await this.send(req, body, headers);
    if (compressed && response.status === 415) {
      // The server no longer takes gzip (its codec list changed): once more, uncompressed.
      await discardBody(response);
      delete headers[HttpHeader.contentEncoding];
      response = await this.send(req, concatBytes(req.body), headers);
    }
    if (hasCapabilities(response.headers)) this.caps = parseCapabilities(response.headers);
    this.session?.capture(response.headers);
    return this.read(response, req.method);
  }

  /** fetch with the retry loop (none for requests that are not safe to repeat). */
  private async send(req: Post, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
    const url = this.url + req.path;
    const init = (): RequestInit => ({ method: 'POST', headers: this.withRequestId(headers), body: body as Uint8Array<ArrayBuffer> });
    try {
      return await fetchRetrying(this.fetch, url, init, req.retry ? this.policy : NO_RETRY);
    } catch (e) {
      throw RpcClientError.local('TransportError', `POST ${url} failed: ${describeFetchError(e)}`);
    }
  }

  private withRequestId(headers: Record<string, string>): Record<string, string> {
    const make = this.options.requestId;
    return make === undefined ? headers : { ...headers, [HttpHeader.requestId]: make() };
  }

  /** Read and decode an answer's body within the response limit (ResponseTooLargeError past it). */
  private async read(response: Response, method: string): Promise<HttpReply> {
    const limit = this.responseLimit;
    const tooLarge = (detail: string): RpcClientError =>
      withRequestId(
        RpcClientError.local('ResponseTooLargeError', `HTTP body exceeds the accepted response size (${detail}) for method '${method}'`),
        response.headers.get(HttpHeader.requestId),
      );
    let coding: ResponseCoding;
    try {
      coding = responseCoding(response.headers);
    } catch (e) {
      await discardBody(response);
      throw e;
    }
    const standardCoded = (response.headers.get(HttpHeader.contentEncoding) ?? 'identity').trim().toLowerCase() !== 'identity';
    const declared = Number(response.headers.get(HttpHeader.contentLength) ?? NaN);
    // A Content-Length counts encoded bytes; fetch may already have decoded a standard coding, so only a plain body is judged by it.
    if (coding === undefined && !standardCoded && declared > limit) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(`${declared} > ${limit} bytes`);
    }
    try {
      const raw = await readAll(response.body, coding === undefined ? limit : encodedSlack(limit));
      const body = await decodeBody(coding, raw, limit);
      return { status: response.status, headers: response.headers, body };
    } catch (e) {
      if (e instanceof BodyTooLarge) throw tooLarge(`more than ${limit} bytes`);
      throw e instanceof RpcClientError ? e : RpcClientError.local('TransportError', `reading the response failed: ${describeFetchError(e)}`);
    }
  }

  /**
   * Close: calls and stream turns already sent finish; later ones fail with
   * TransportError. The server holds nothing for this client, so nothing is sent.
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

/** A fetch failure's message with its cause (undici puts the socket error there). */
const describeFetchError = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
};

/** Normalise a base URL: no trailing slash (the path that remains is the server's prefix). */
const baseUrlOf = (url: string | URL): string => {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw RpcClientError.local('TransportError', `not a URL: ${JSON.stringify(String(url))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw RpcClientError.local('TransportError', `an HTTP endpoint is an http:// or https:// URL, got ${JSON.stringify(String(url))}`);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href.replace(/\/+$/, '');
};

/**
 * The capability probe: `HEAD {prefix}/health`, retried like any safe
 * request. The server must support response budgets.
 */
const probe = async (base: string, options: HttpConnectOptions): Promise<ServerCapabilities> => {
  const headers: Record<string, string> = { [HttpHeader.acceptMaxResponseBytes]: String(checkResponseBudget(options.maxResponseBytes)), ...options.headers };
  const init = (): RequestInit => ({ method: 'HEAD', headers: options.requestId === undefined ? headers : { ...headers, [HttpHeader.requestId]: options.requestId() } });
  const url = `${base}/health`;
  let response: Response;
  try {
    response = await fetchRetrying(options.fetch ?? globalThis.fetch.bind(globalThis), url, init, retryPolicy(options.retry));
  } catch (e) {
    throw RpcClientError.local('TransportError', `cannot connect to ${base}: ${describeFetchError(e)}`);
  }
  await discardBody(response);
  if (!isOk(response.status)) {
    const e = httpStatusError(response.status, response.headers, undefined, '');
    throw new HttpError({ ...errorFields(e), message: `the capability probe HEAD ${url} failed: ${e.message}` }, e);
  }
  const caps = parseCapabilities(response.headers);
  if (!caps.responseBudgetSupport) {
    throw RpcClientError.local('ProtocolError', `${base} is not a vgi-rpc HTTP server this client can use: HEAD ${url} did not answer ${HttpHeader.acceptMaxResponseBytesSupport}: true`);
  }
  return caps;
};

/**
 * Connect to the vgi-rpc HTTP server at `url` (its path is the server's
 * prefix, e.g. `http://host:8000` or `https://host/vgi`): probes
 * `HEAD {prefix}/health`, then resolves with a connection for
 * `Client.promises` / `Client.make`. Rejects with an RpcClientError.
 */
export const httpConnect = async (url: string | URL, options: HttpConnectOptions = {}): Promise<HttpConnection> => {
  const base = baseUrlOf(url);
  checkResponseBudget(options.maxResponseBytes);
  retryPolicy(options.retry);
  return new HttpConnection(base, await probe(base, options), options);
};

/**
 * A sticky-session scope (`conn.withSession(token)`) held by the current
 * Scope: closing the Scope ends the session (`endSession()`: a best-effort
 * DELETE unless the server closed it or the token was detached).
 */
export const httpSessionScoped = (conn: HttpConnection, token: string | null = null): Effect.Effect<HttpConnection, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => conn.withSession(token)), (session) => Effect.promise(() => session.endSession()));

/** `httpConnect` as an Effect: the connection is held by the current Scope and closed with it. */
export const httpConnectScoped = (url: string | URL, options: HttpConnectOptions = {}): Effect.Effect<HttpConnection, RpcClientError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => httpConnect(url, options),
      catch: (e) => (e instanceof RpcClientError ? e : RpcClientError.local('TransportError', e instanceof Error ? e.message : String(e))),
    }),
    (conn) => Effect.promise(() => conn.close()),
  );
