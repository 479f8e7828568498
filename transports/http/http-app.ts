/**
 * The RPC half of the HTTP contract, run by the worker that owns a call:
 * `{prefix}/{protocol}/{method}` (unary), `/init` and `/exchange` (streams),
 * in the reference's order of checks: route resolution (404, Arrow) before
 * the media type (415), then the request cap (413), the content coding
 * (415/400/413), the IPC body (400), the routing-key agreement and version
 * gate (400), and dispatch, where a failed handler answers 200 with
 * `X-VGI-RPC-Error: true`. The body is decompressed, decoded, run, encoded,
 * checked against the response budget and compressed here; the front end
 * only moves bytes. Streams live between requests in this worker's
 * call-state cache, reached through their tokens.
 */
import type { Schema } from 'apache-arrow';
import type { Dispatcher, RequestStream } from '../../src/protocol/dispatcher.js';
import type { ConnectionCalls, InterruptReason } from '../../src/protocol/call-scope.js';
import { resolvePath, retiredDescribeError } from '../../src/protocol/request.js';
import type { DetachedStream, OpenedStream, TurnFraming } from '../../src/protocol/stream-protocol.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import { Errors, RpcError, toWireError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { DecodedBatch, type Frame, StreamReader } from '../../src/wire/stream-reader.js';
import { IpcFormatError } from '../../src/wire/errors.js';
import { type RpcRoute, parseRpcRoute, ReservedPaths, underPrefix } from '../../src/http/routes.js';
import { CallStateCache } from './call-state-cache.js';
import { decodeStreamState } from '../../src/protocol/stream-state.js';
import { makeCallScope } from '../../src/protocol/call-scope.js';
import type * as Effect from 'effect/Effect';
import { type TokenScope, type TokenSealer, newCallId } from '../../src/http/state-tokens.js';
import type { HttpReply } from './engine.js';
import { SessionRegistry, type SessionEntry } from './session-registry.js';
import { RequestSession, type SessionCaller, type SessionHost, type StickySettings, acceptsSessionOpen, resolveSession, sessionLost, sessionTokenOf } from './request-session.js';
import { minimumLimit } from '../../src/http/response-budget.js';
import { sameBytes } from '../../src/wire/same-bytes.js';
import { hexOf } from '../../src/wire/hex.js';

/** The Arrow IPC stream media type. */
export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** Who made a request, as the `authenticate` hook decided (anonymous when there is no hook). */
export interface AuthContext {
  readonly authenticated: boolean;
  readonly principal: string;
  readonly domain: string;
  /** Claims the hook attached (passed to handlers as they are). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** The caller nobody authenticated. */
export const ANONYMOUS: AuthContext = { authenticated: false, principal: '', domain: '' };

/** A request body coding problem, with the HTTP status it maps to. */
export class BodyCodingError extends Error {
  override readonly name = 'BodyCodingError';
  constructor(readonly status: 400 | 413 | 415, message: string) {
    super(message);
  }
}

/** Request and response content codings as the app needs them. */
export interface HttpCodecs {
  /** Undo a request's `Content-Encoding` (`''` or identity: the body as is), the decoded size capped; throws BodyCodingError. */
  decode(encoding: string, body: Uint8Array, maxBytes: number | undefined): Uint8Array;
  /** The response coding the request's accept headers pick, and the header that labels it; undefined: send it as is. */
  negotiate(headers: ReadonlyMap<string, string>): { readonly codec: string; readonly header: string } | undefined;
  /** Encode a response body. */
  encode(codec: string, chunks: readonly Uint8Array[]): Uint8Array;
}

/** How the RPC routes behave. */
export interface HttpAppOptions {
  /** Mount prefix (`''` or `/x`). */
  readonly prefix: string;
  readonly tokens: TokenSealer;
  readonly codecs: HttpCodecs;
  /** Cap on request bodies, encoded and decoded. */
  readonly maxRequestBytes?: number;
  /** The server's response limit (the client's `VGI-Accept-Max-Response-Bytes` may lower it per request). */
  readonly maxResponseBytes?: number;
  /** How long an idle stream's live state is kept, in seconds (the token TTL; 0: until the stream ends). */
  readonly streamTtlSeconds: number;
  /** False: keep no live stream state (every continuation is a cold miss). */
  readonly callStateCache?: boolean;
  /** Sticky sessions (off when absent). */
  readonly sticky?: StickySettings;
  /** Told after each sticky session's state was released (tests count releases). */
  readonly onSessionRelease?: (entry: SessionEntry) => void;
}

/** One RPC request as the front end hands it over. */
export interface RpcRequest {
  readonly method: string;
  /** The normalized path. */
  readonly path: string;
  readonly headers: ReadonlyMap<string, string>;
  /** The body as received, or undefined when it exceeded the cap. */
  readonly body: Uint8Array | undefined;
  readonly auth: AuthContext;
  readonly requestId: string;
  /** The client's response limit from `VGI-Accept-Max-Response-Bytes`, already validated. */
  readonly acceptMaxResponseBytes: number | undefined;
}

/** A reply, with the response limit a stream sealed at /init (a continuation may tighten it, never raise it). */
export interface AppReply extends HttpReply {
  readonly sealedLimit?: number;
}

/** A request being answered: interrupting it interrupts its call. */
export interface InFlight {
  readonly calls: ConnectionCalls;
}

const NO_STATE = new Uint8Array(0);

/** Response bodies smaller than this are sent uncompressed whatever the client accepts (an exchange turn's answer is ~1 KiB). */
export const COMPRESS_MIN_BYTES = 1400;
const ERROR_FLAG: readonly [string, string] = ['X-VGI-RPC-Error', 'true'];
const ARROW: readonly [string, string] = ['Content-Type', ARROW_CONTENT_TYPE];

/** A plain-text reply (404s, 405s, refusals of the body's size, type or coding). */
export const textReply = (status: number, body: string, headers: ReadonlyArray<readonly [string, string]> = []): HttpReply =>
  ({ status, headers: [['Content-Type', 'text/plain; charset=utf-8'], ...headers], body: [new TextEncoder().encode(body)] });

/** Decode a whole request body: its schema, first batch and a recoverable body error. */
const decodeBody = (bytes: Uint8Array): RequestStream => {
  const reader = new StreamReader();
  reader.push(bytes);
  reader.end();
  const next = (): Frame => {
    const f = reader.read();
    if (f === undefined || f === null) throw new IpcFormatError('the request body ended inside its IPC stream');
    return f;
  };
  const first = next();
  if (first.kind !== 'schema') throw new IpcFormatError('expected the request body to start with a schema message');
  let batch: DecodedBatch | undefined;
  let error: Error | undefined;
  for (;;) {
    const f = next();
    if (f.kind === 'eos') break;
    if (f.kind === 'badBatch') error ??= f.error;
    if (f.kind === 'batch' && batch === undefined) batch = f.batch;
  }
  return { schema: first.schema, batch, error };
};

/** The same batch with `key` set in its metadata. */
/** `b` with its custom metadata plus the request id, and the protocol when `protocol` is given (one new Map). */
const withRequestMeta = (b: DecodedBatch, requestId: string, protocol: string | undefined): DecodedBatch => {
  const md = new Map(b.metadata);
  if (protocol !== undefined) md.set(Keys.protocol, protocol);
  md.set(Keys.requestId, requestId);
  return new DecodedBatch(b.schema, b.numRows, b.columns, md, b.badUtf8Keys);
};

/**
 * The RPC routes of one worker's dispatcher. `answer` gives a request's
 * reply; `closeStreams` ends every live stream (drain, shutdown).
 */
export class HttpApp {
  private readonly cache: CallStateCache;
  private readonly sessions: SessionHost;

  constructor(private readonly dispatcher: Dispatcher, private readonly options: HttpAppOptions) {
    this.cache = new CallStateCache(options.callStateCache === false ? 0 : options.streamTtlSeconds * 1000);
    const onRelease = options.onSessionRelease;
    this.sessions = {
      registry: new SessionRegistry(onRelease === undefined ? {} : { onRelease }),
      tokens: options.tokens,
      serverId: dispatcher.serverId,
      sticky: options.sticky,
    };
  }

  /** Sticky sessions held. */
  get liveSessions(): number {
    return this.sessions.registry.size;
  }

  /** Refuse new sticky sessions (true) or accept them again; existing sessions keep serving. */
  setDraining(on: boolean): void {
    this.sessions.registry.setDraining(on);
  }

  /** Release every sticky session (shutdown). */
  closeSessions(): Promise<void> {
    return this.sessions.registry.closeAll();
  }

  /** Live streams held between requests. */
  get liveStreams(): number {
    return this.cache.size;
  }

  /** End every live stream with `reason`, and release every sticky session. */
  async closeStreams(reason: InterruptReason): Promise<void> {
    await this.cache.closeAll(reason);
    await this.closeSessions();
  }

  private errorReply(status: number, schema: Schema, error: RpcError, requestId: string, flag = false): HttpReply {
    const out: Uint8Array[] = [];
    writeErrorStream(out, schema, toWireError(error), { serverId: this.dispatcher.serverId, requestId });
    return { status, headers: flag ? [ARROW, ERROR_FLAG] : [ARROW], body: out };
  }

  /** The reply to one RPC request (`onStart` receives its call supervisor, to interrupt it if the client goes away). */
  async answer(req: RpcRequest, onStart?: (inFlight: InFlight) => void): Promise<AppReply> {
    return this.finish(req, await this.route(req, onStart));
  }

  /** Enforce the response budget, then compress as the request accepts. */
  private finish(req: RpcRequest, reply: AppReply): HttpReply {
    const limit = minimumLimit(this.options.maxResponseBytes, req.acceptMaxResponseBytes, reply.sealedLimit);
    let size = 0;
    for (const c of reply.body) size += c.byteLength;
    const isArrow = reply.headers.some(([k, v]) => k === 'Content-Type' && v === ARROW_CONTENT_TYPE);
    if (limit !== undefined && size > limit && isArrow) {
      const route = parseRpcRoute(this.options.prefix, req.path);
      const error = RpcError.of('ResponseTooLargeError', `HTTP body exceeds max_response_bytes (${size} > ${limit}) for method '${route?.method ?? ''}'`);
      return this.errorReply(200, emptySchema(), error, req.requestId, true);
    }
    // Only Arrow bodies are compressed (as the reference): plain-text refusals go as they are. A body
    // under COMPRESS_MIN_BYTES goes as it is too: coding it costs more CPU than the bytes it saves.
    if (size < COMPRESS_MIN_BYTES || !isArrow) return reply;
    const coding = this.options.codecs.negotiate(req.headers);
    if (coding === undefined) return reply;
    return { status: reply.status, headers: [...reply.headers, [coding.header, coding.codec]], body: [this.options.codecs.encode(coding.codec, reply.body)] };
  }

  private async route(req: RpcRequest, onStart?: (inFlight: InFlight) => void): Promise<AppReply> {
    const { prefix } = this.options;
    const sub = underPrefix(prefix, req.path);
    if (sub === ReservedPaths.retiredDescribe) return this.errorReply(404, emptySchema(), retiredDescribeError(), req.requestId);
    if (req.method === 'DELETE') return sub === ReservedPaths.session ? this.deleteSession(req) : textReply(405, 'Method Not Allowed');
    const route = parseRpcRoute(prefix, req.path);
    if (route === undefined) return textReply(404, 'Not Found');
    const found = resolvePath(this.dispatcher.hosting, route.protocol, route.method);
    if (found instanceof RpcError) return this.errorReply(404, emptySchema(), found, req.requestId);
    if (!(req.headers.get('content-type') ?? '').includes(ARROW_CONTENT_TYPE)) return textReply(415, `Unsupported Media Type: expected ${ARROW_CONTENT_TYPE}`);
    if (req.body === undefined) return textReply(413, `Request body exceeds max_request_bytes (${this.options.maxRequestBytes ?? 'unlimited'})`);
    let bytes: Uint8Array;
    try {
      bytes = this.options.codecs.decode((req.headers.get('content-encoding') ?? '').trim().toLowerCase(), req.body, this.options.maxRequestBytes);
    } catch (e) {
      if (e instanceof BodyCodingError) return textReply(e.status, e.message);
      throw e;
    }
    let request: RequestStream;
    try {
      request = decodeBody(bytes);
    } catch (e) {
      return this.errorReply(400, emptySchema(), Errors.protocol(`Invalid Arrow IPC request body: ${(e as Error).message}`), req.requestId);
    }
    const kind = found.def.kind;
    if (route.action === 'call' && kind !== 'unary') {
      return this.errorReply(400, emptySchema(), Errors.protocol(`Method '${route.method}' is a stream method. Use /init and /exchange endpoints.`), req.requestId);
    }
    if (route.action !== 'call' && kind === 'unary') {
      return this.errorReply(400, emptySchema(), Errors.protocol(`Method '${route.method}' is a unary method. Use POST ${prefix}/${route.protocol}/${route.method} instead.`), req.requestId);
    }
    const bound = await this.bindSession(req);
    if (!(bound instanceof RequestSession)) return bound;
    try {
      try {
        await this.dispatcher.startServing('http');
      } catch (e) {
        return textReply(500, (e as Error).message);
      }
      const { calls, done } = this.dispatcher.openCalls();
      onStart?.({ calls });
      let reply: AppReply;
      try {
        reply = route.action === 'exchange'
          ? await this.continueStream(req, route, request, calls)
          : await this.callOrInit(req, route, kind === 'unary' ? found.def.resultSchema : emptySchema(), request, calls, bound);
      } finally {
        done();
      }
      const headers = bound.responseHeaders();
      return headers.length === 0 ? reply : { ...reply, headers: [...reply.headers, ...headers] };
    } finally {
      bound.unlock();
    }
  }

  private caller(req: RpcRequest): SessionCaller {
    return req.auth.authenticated
      ? { identity: { principal: req.auth.principal, domain: req.auth.domain }, principalKey: this.identity(req) }
      : { identity: {}, principalKey: '' };
  }

  /**
   * The request's session binding, holding the lock of the session its
   * `VGI-Session` token names; or the SessionLostError reply when that
   * session cannot be resumed.
   */
  private async bindSession(req: RpcRequest): Promise<RequestSession | HttpReply> {
    const caller = this.caller(req);
    const accept = acceptsSessionOpen(req.headers);
    const token = sessionTokenOf(req.headers);
    if (token === undefined || this.sessions.sticky === undefined) return new RequestSession(this.sessions, caller, accept);
    const lost = (why: string): HttpReply => this.errorReply(200, emptySchema(), sessionLost(why), req.requestId, true);
    const entry = resolveSession(this.sessions, token, caller);
    if (typeof entry === 'string') return lost(entry);
    const unlock = entry.tryLock() ?? await entry.lock();
    // Closed or expired while this request waited for the lock.
    if (entry.isReleased || entry.expiresAt <= Date.now()) {
      unlock();
      return lost('the session expired or was closed');
    }
    return new RequestSession(this.sessions, caller, accept, { entry, token, unlock });
  }

  /** `DELETE {prefix}/__session__`: 204 with `VGI-Session-Close: true` when it closed a session, 200 with no body otherwise. */
  private async deleteSession(req: RpcRequest): Promise<AppReply> {
    const nothing: AppReply = { status: 200, headers: [], body: [] };
    const token = sessionTokenOf(req.headers);
    if (token === undefined || this.sessions.sticky === undefined) return nothing;
    const entry = resolveSession(this.sessions, token, this.caller(req));
    if (typeof entry === 'string') return nothing;
    const unlock = await entry.lock();
    try {
      if (entry.isReleased) return nothing;
      await this.sessions.registry.remove(entry);
    } finally {
      unlock();
    }
    return { status: 204, headers: [['VGI-Session-Close', 'true']], body: [] };
  }

  /** A unary call or a stream's /init: the routing-key agreement, then the dispatcher. */
  private async callOrInit(req: RpcRequest, route: RpcRoute, errorSchema: Schema, request: RequestStream, calls: ConnectionCalls, session: RequestSession): Promise<AppReply> {
    let batch = request.batch;
    if (batch !== undefined) {
      const declared = batch.meta(Keys.protocol);
      if (declared !== undefined && declared !== '' && declared !== route.protocol) {
        return this.errorReply(400, errorSchema, Errors.protocolNotSupported(`Protocol mismatch: the request path resolved to '${route.protocol}' but the Arrow IPC custom_metadata 'vgi_rpc.protocol' says '${declared}'. These must agree.`), req.requestId);
      }
      const method = batch.meta(Keys.method);
      if (method !== undefined && method !== route.method) {
        return this.errorReply(400, errorSchema, Errors.protocol(`Method name in request '${method}' does not match URL '${route.method}'`), req.requestId);
      }
      // Over HTTP the call's request id is the request's X-Request-ID (echoed or minted), as the reference's
      // middleware sets it: the log and error batches then name the id the response header carries.
      batch = withRequestMeta(batch, req.requestId, declared === undefined || declared === '' ? route.protocol : undefined);
    }
    const answer = await this.dispatcher.respond({ ...request, batch }, 'http', calls, session);
    if (answer._tag === 'response') {
      const status = answer.outcome === 'rejected' ? 400 : 200;
      return { status, headers: answer.outcome === 'failed' ? [ARROW, ERROR_FLAG] : [ARROW], body: answer.out };
    }
    const opened = await this.dispatcher.runner.openStream(answer.scope, answer.method, answer.handler, answer.params, calls);
    if (opened._tag === 'failed') return { status: 200, headers: [ARROW, ERROR_FLAG], body: opened.out };
    const stream = opened.stream;
    const scope = this.scopeOf(req, route);
    const callId = newCallId();
    const responseLimit = minimumLimit(this.options.maxResponseBytes, req.acceptMaxResponseBytes);
    const callToken = this.options.tokens.sealCall({
      callId, callState: NO_STATE, typeName: '', outputSchema: NO_STATE, inputSchema: NO_STATE, streamId: hexOf(callId),
      ...(responseLimit === undefined ? {} : { responseLimitBytes: responseLimit }),
    }, scope);
    const cursor = (): string => this.options.tokens.sealCursor({ callId, state: stream.snapshot() }, scope);
    const framing: TurnFraming = { trailer: () => new Map([[Keys.streamState, cursor()], [Keys.callState, callToken]]) };
    const turn = await stream.turn(undefined, framing, calls);
    const body = [...(opened.header ?? []), ...turn.out];
    if (turn.state === 'open') {
      if (this.options.callStateCache !== false) {
        this.cache.put(hexOf(callId), this.identity(req), route.protocol, { stream, callToken, responseLimit });
        return { status: 200, headers: [ARROW], body };
      }
      void stream.close({ _tag: 'shutdown', detail: 'the server keeps no call state' });
    }
    return { status: 200, headers: [ARROW], body };
  }

  /** A stream's continuation, exchange turn or cancel, on the worker holding its live state. */
  private async continueStream(req: RpcRequest, route: RpcRoute, request: RequestStream, calls: ConnectionCalls): Promise<AppReply> {
    const batch = request.batch;
    const bad = (message: string): HttpReply => this.errorReply(400, emptySchema(), Errors.protocol(message), req.requestId);
    if (request.error !== undefined) return bad(`Invalid Arrow IPC request body: ${request.error.message}`);
    const token = batch?.meta(Keys.streamState);
    if (batch === undefined || token === undefined) return bad('Missing state token in exchange request');
    const scope = this.scopeOf(req, route);
    let callId: Uint8Array;
    let cursorState: Uint8Array;
    try {
      ({ callId, state: cursorState } = this.options.tokens.openCursor(token, scope));
    } catch (e) {
      return bad(`Invalid state token: ${(e as Error).message}`);
    }
    const id = hexOf(callId);
    const identity = this.identity(req);
    let entry = this.cache.get(id, identity, route.protocol);
    if (entry !== undefined && !entry.stream.busy && !sameBytes(entry.stream.snapshot(), cursorState)) {
      // The cursor carries another state than this worker's live stream: the stream went on on
      // another instance behind a load balancer (or the cursor is an older one, replayed). The
      // cursor wins: the stale stream is closed and the call resumes from the cursor's state.
      this.cache.discard(id, identity, route.protocol, { _tag: 'shutdown', detail: 'the stream continued from another state' });
      entry = undefined;
    }
    if (entry === undefined) {
      const call = batch.meta(Keys.callState);
      if (call === undefined) return bad('Missing call token in exchange request');
      let content: ReturnType<TokenSealer['openCall']>;
      try {
        content = this.options.tokens.openCall(call, scope);
      } catch (e) {
        return bad(`Invalid call token: ${(e as Error).message}`);
      }
      if (hexOf(content.callId) !== id) return bad('Invalid call token: it belongs to another call');
      const resumed = await this.resume(req, route, cursorState, calls);
      if (resumed === undefined) {
        return this.errorReply(400, emptySchema(), RpcError.of('StreamStateLostError',
          `the live state of this '${route.method}' stream is not held by this server (it expired, its worker was replaced, or another process minted the token), and the method does not declare its state as a schema it could resume from`), req.requestId);
      }
      if (resumed._tag === 'failed') return { status: 200, headers: [ARROW, ERROR_FLAG], body: resumed.out };
      entry = { stream: resumed.stream, callToken: call, responseLimit: content.responseLimitBytes, expiresAt: 0 };
      if (this.options.callStateCache !== false) this.cache.put(id, identity, route.protocol, entry);
    }
    const stream: DetachedStream = entry.stream;
    if (stream.busy) return bad('a turn of this stream is already running');
    const cursor = (): string => this.options.tokens.sealCursor({ callId, state: stream.snapshot() }, scope);
    const framing: TurnFraming = stream.kind === 'producer'
      ? { trailer: () => new Map([[Keys.streamState, cursor()]]), requestId: req.requestId }
      : { data: () => new Map([[Keys.streamState, cursor()]]), requestId: req.requestId };
    const turn = await stream.turn({ kind: 'batch', batch }, framing, calls);
    const flag = turn.state === 'failed' && stream.kind === 'exchange';
    const reply: AppReply = {
      status: 200, headers: flag ? [ARROW, ERROR_FLAG] : [ARROW], body: turn.out,
      ...(entry.responseLimit === undefined ? {} : { sealedLimit: entry.responseLimit }),
    };
    if (turn.state === 'open') return reply;
    this.cache.delete(id, identity, route.protocol);
    if (this.options.callStateCache === false) void stream.close({ _tag: 'shutdown', detail: 'the server keeps no call state' });
    return reply;
  }

  /**
   * Rebuild a stream the cache does not hold from the state in its cursor,
   * when its method declares its state and its handler can resume: the live
   * stream, the error stream of a failed resume, or undefined when it cannot.
   */
  private async resume(req: RpcRequest, route: RpcRoute, state: Uint8Array, calls: ConnectionCalls): Promise<OpenedStream | undefined> {
    const found = resolvePath(this.dispatcher.hosting, route.protocol, route.method);
    if (found instanceof RpcError || found.def.kind === 'unary' || found.def.state === undefined || state.byteLength === 0) return undefined;
    const handler = found.binding.handlers[route.method] as { resume?: (s: Record<string, unknown>) => Effect.Effect<unknown, unknown, never> } | undefined;
    const resumeStream = handler?.resume;
    if (resumeStream === undefined) return undefined;
    const method = found.def;
    const snapshot = decodeStreamState(method, state);
    const scope = makeCallScope({
      requestId: req.requestId, serverId: this.dispatcher.serverId, protocol: route.protocol, method: route.method,
      transportKind: 'http', requestMetadata: new Map(),
    });
    return this.dispatcher.runner.openStream(scope, method, () => resumeStream(snapshot), {}, calls, true);
  }

  private scopeOf(req: RpcRequest, route: RpcRoute): TokenScope {
    return req.auth.authenticated ? { principal: req.auth.principal, domain: req.auth.domain, protocol: route.protocol } : { protocol: route.protocol };
  }

  private identity(req: RpcRequest): string {
    return req.auth.authenticated ? `${req.auth.domain}\u0000${req.auth.principal}` : '';
  }
}
