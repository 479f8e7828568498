/**
 * HTTP serving options: what a user sets (`HttpOptions`), the part every
 * worker needs, in a form that crosses threads (`HttpSettings`: plain data,
 * the token key already normalised, so every worker of the process seals
 * and opens the same tokens), and the app's services built from it in each
 * worker (`appOptionsOf`).
 */
import { randomBytes } from 'node:crypto';
import { type CompressionCodec, responseEncodingFor } from '../../src/http/encoding-negotiation.js';
import { nodeTokenCipher } from './native-token-cipher.js';
import { DEFAULT_TOKEN_TTL_SECONDS, TokenSealer, normalizeTokenKey } from '../../src/http/state-tokens.js';
import { normalizePrefix } from '../../src/http/routes.js';
import { availableCodecs, compressBody, decompressBody, zstdTokenCompressor, BodyTooLargeError, CorruptBodyError, UnsupportedEncodingError } from './body-codecs.js';
import { requestEncodingOf } from '../../src/http/encoding-negotiation.js';
import type { HttpEngineName } from './engine.js';
import { BodyCodingError, type HttpAppOptions, type HttpCodecs } from './http-app.js';
import type { Authenticate } from './front-end.js';
import type { StickySettings } from './request-session.js';
import { routeHint } from './route-hint.js';

/** CORS, opt-in. */
export interface CorsOptions {
  /** The allowed origin(s), as `Access-Control-Allow-Origin` says them (`*` for any). */
  readonly origins: string;
  /** Preflight cache lifetime in seconds (default 7200). */
  readonly maxAgeSeconds?: number;
}

/** Sticky sessions, opt-in: handlers bind live state to the worker that opened it. */
export interface StickyOptions {
  /** TTL of a session opened without one, in seconds (default 300); absolute, never refreshed. */
  readonly defaultTtlSeconds?: number;
  /**
   * Headers a client must send back on every request of a session (a proxy
   * routes on them): sent as `VGI-Echo-<name>: <value>` on the opening
   * response and advertised in `VGI-Sticky-Echo-Headers`.
   */
  readonly echoHeaders?: Readonly<Record<string, string>>;
  /**
   * The most sessions the server holds at once (default: no limit). Each
   * worker holds at most its share, `ceil(maxSessions / workers)`; an open
   * beyond it fails with `SessionLimitError` (code RESOURCE_EXHAUSTED, a
   * QuotaFailure detail) until sessions end.
   */
  readonly maxSessions?: number;
}

/** Default TTL of a sticky session, in seconds (the reference's). */
export const DEFAULT_STICKY_TTL_SECONDS = 300;

/** How an HTTP server serves. */
export interface HttpOptions {
  /** Mount prefix (default `''`: routes at the root). */
  readonly prefix?: string;
  /**
   * The key stream tokens are sealed with (32 bytes used as they are, any
   * other bytes or text hashed with SHA-256). Default: random per process;
   * give several processes the same key to let them accept each other's
   * tokens.
   */
  readonly tokenKey?: Uint8Array | string;
  /** Lifetime of stream tokens and of idle live stream state, in seconds (default 3600; 0: no expiry). */
  readonly tokenTtlSeconds?: number;
  /** Cap on request bodies, before and after decompression (413 above it). */
  readonly maxRequestBytes?: number;
  /** Cap on response bodies (a client may lower it per request with `VGI-Accept-Max-Response-Bytes`). */
  readonly maxResponseBytes?: number;
  /**
   * Cap on the bytes of a response that go to external storage (advertised as
   * `VGI-Max-Externalized-Response-Bytes`; nothing is externalised while no
   * storage is configured).
   */
  readonly maxExternalizedResponseBytes?: number;
  /** Compress responses as clients accept (default true). Compressed requests are decoded either way. */
  readonly compression?: boolean;
  /** Keep streams' live state between requests (default true). */
  readonly callStateCache?: boolean;
  /** CORS headers (off by default). */
  readonly cors?: CorsOptions;
  /** Decides who made each request (main thread); throw `Unauthorized` for a 401. */
  readonly authenticate?: Authenticate;
  /** The engine: uWebSockets.js where its native binary loads (`auto`, default), or `uws` / `node` explicitly. */
  readonly engine?: HttpEngineName;
  /**
   * Who listens with a worker pool. `workers` (the default where it can run):
   * every worker listens on the port itself (uWebSockets.js with
   * SO_REUSEPORT; the kernel spreads connections) with the whole front end,
   * so no request crosses the main thread. `main`: the main thread runs the
   * engine and the front end and hands each RPC request to a worker.
   * `workers` needs uWS, a pool, no `authenticate` hook here (functions
   * cannot cross threads: give it to the worker module) and no
   * `resourceLimits`; said explicitly, it throws where it cannot run, while
   * the default falls back to `main` there. Default: the
   * `VGI_RPC_HTTP_LISTENERS` environment variable (`main` or `workers`),
   * else `workers`.
   */
  readonly listeners?: HttpListeners;
  /** Serve the HTML landing, describe and 404 pages on GET (default true). */
  readonly pages?: boolean;
  /** Sticky sessions (off when absent). */
  readonly sticky?: StickyOptions;
  /**
   * Path of the readiness probe (default `/readyz`, outside the prefix):
   * `GET`/`HEAD` answer 200 while serving and 503 once a drain started, so
   * an orchestrator or proxy stops sending new work while open sessions
   * finish. `/health` keeps answering 200 (liveness).
   */
  readonly readinessPath?: string;
  /**
   * Test servers only: `POST /__test_drain__` makes the server refuse new
   * sticky sessions as a drain does, `DELETE /__test_drain__` undoes it
   * (the reference conformance worker's admin endpoint).
   */
  readonly testDrainEndpoint?: boolean;
}

/** Who listens with a worker pool (see HttpOptions.listeners). */
export type HttpListeners = 'main' | 'workers';

/** The listeners `options` ask for: the option, else `VGI_RPC_HTTP_LISTENERS`, else `workers`; and whether the option said so explicitly. */
export const listenersOf = (options: HttpOptions): { readonly listeners: HttpListeners; readonly explicit: boolean } => {
  if (options.listeners !== undefined) return { listeners: options.listeners, explicit: true };
  return { listeners: process.env.VGI_RPC_HTTP_LISTENERS === 'main' ? 'main' : 'workers', explicit: false };
};

/** What every worker needs to answer HTTP requests (plain data: it crosses threads). */
export interface HttpSettings {
  readonly prefix: string;
  readonly tokenKey: Uint8Array;
  readonly tokenTtlSeconds: number;
  readonly maxRequestBytes?: number;
  readonly maxResponseBytes?: number;
  /** Codecs responses may use (empty: response compression off). */
  readonly responseCodecs: readonly CompressionCodec[];
  readonly callStateCache: boolean;
  /** Sticky sessions (off when absent). */
  readonly sticky?: StickySettings;
  /** This process's route tag (random u16): workers seal it with their thread id into every token's nonce (see route-hint.ts). */
  readonly routeTag: number;
}

/** The sticky settings of `options` (undefined: off), for a server whose sessions `holders` threads hold (its workers, else 1). */
export const stickySettingsOf = (options: HttpOptions, holders = 1): StickySettings | undefined => {
  const s = options.sticky;
  if (s === undefined) return undefined;
  const ttl = s.defaultTtlSeconds ?? DEFAULT_STICKY_TTL_SECONDS;
  if (!(ttl > 0)) throw new RangeError(`sticky.defaultTtlSeconds must be positive, got ${ttl}`);
  const max = s.maxSessions;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) throw new RangeError(`sticky.maxSessions must be a positive integer, got ${max}`);
  return {
    defaultTtlSeconds: ttl,
    echoHeaders: Object.entries(s.echoHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const),
    ...(max === undefined ? {} : { maxSessions: max, maxPerHolder: Math.ceil(max / Math.max(1, holders)) }),
  };
};

/** The workers' settings of `options`, for a server whose sessions `holders` threads hold (its workers, else 1). */
export const settingsOf = (options: HttpOptions, holders = 1): HttpSettings => {
  const sticky = stickySettingsOf(options, holders);
  const key = options.tokenKey;
  const tokenKey = key === undefined ? new Uint8Array(randomBytes(32)) : normalizeTokenKey(typeof key === 'string' ? new TextEncoder().encode(key) : key);
  return {
    prefix: normalizePrefix(options.prefix ?? ''),
    tokenKey,
    tokenTtlSeconds: options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
    ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
    responseCodecs: options.compression === false ? [] : availableCodecs(),
    callStateCache: options.callStateCache !== false,
    ...(sticky === undefined ? {} : { sticky }),
    routeTag: randomBytes(2).readUInt16LE(0),
  };
};

/** Request decoding (always every codec this process has) and response coding (the settings' codecs). */
export const httpCodecs = (responseCodecs: readonly CompressionCodec[]): HttpCodecs => ({
  decode: (encoding, body, maxBytes) => {
    const e = requestEncodingOf(encoding);
    if (e.kind === 'none') return body;
    if (e.kind === 'identity' || e.kind === 'unknown') throw new BodyCodingError(415, `Unsupported Content-Encoding: ${e.kind === 'identity' ? 'identity' : e.token}`);
    try {
      return decompressBody(e.codec, body, maxBytes ?? Number.MAX_SAFE_INTEGER);
    } catch (x) {
      if (x instanceof BodyTooLargeError) throw new BodyCodingError(413, x.message);
      if (x instanceof CorruptBodyError) throw new BodyCodingError(400, x.message);
      if (x instanceof UnsupportedEncodingError) throw new BodyCodingError(415, x.message);
      throw x;
    }
  },
  negotiate: (headers) => responseEncodingFor(headers, responseCodecs),
  encode: (codec, chunks) => {
    const out = compressBody(codec as CompressionCodec, chunks);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  },
});

/** The app's services in one worker (`threadId`: the worker's, sealed as the route hint of its tokens). */
export const appOptionsOf = (s: HttpSettings, threadId?: number): HttpAppOptions => {
  const compressor = zstdTokenCompressor();
  return {
    prefix: s.prefix,
    tokens: new TokenSealer({
      key: s.tokenKey, ttlSeconds: s.tokenTtlSeconds, cipher: nodeTokenCipher(),
      ...(compressor === undefined ? {} : { compressor }),
      ...(threadId === undefined ? {} : { routeHint: routeHint(s.routeTag, threadId) }),
    }),
    codecs: httpCodecs(s.responseCodecs),
    ...(s.maxRequestBytes === undefined ? {} : { maxRequestBytes: s.maxRequestBytes }),
    ...(s.maxResponseBytes === undefined ? {} : { maxResponseBytes: s.maxResponseBytes }),
    streamTtlSeconds: s.tokenTtlSeconds,
    callStateCache: s.callStateCache,
    ...(s.sticky === undefined ? {} : { sticky: s.sticky }),
  };
};
