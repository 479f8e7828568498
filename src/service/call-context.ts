/**
 * The per-call context a handler can ask for: identifiers of the call and a
 * client-directed logger. Provided to every handler Effect by the dispatcher.
 */
import * as Context from 'effect/Context';
import * as Effect from 'effect/Effect';
import type * as Scope from 'effect/Scope';
import type { LogLevel } from '../wire/metadata-keys.js';
import type { RpcError } from './errors.js';

/** How the call reached the server (the reference's TransportKind). */
export type TransportKind = 'pipe' | 'http' | 'unix' | 'tcp';

/** Levels a handler may log at. */
export type ClientLogLevel = Exclude<LogLevel, 'EXCEPTION'>;

/** Extra key/values attached to a client log record (JSON-encoded into `vgi_rpc.log_extra`). */
export type LogExtras = Readonly<Record<string, unknown>>;

/** One client-directed log record. */
export interface ClientLogRecord {
  readonly level: ClientLogLevel;
  readonly message: string;
  readonly extra?: LogExtras;
}

/** What a handler knows about its call. */
export interface CallInfo {
  readonly requestId: string;
  readonly serverId: string;
  readonly protocol: string;
  readonly method: string;
  readonly transportKind: TransportKind;
  /** Metadata of the request batch (routing keys included). */
  readonly requestMetadata: ReadonlyMap<string, string>;
}

/**
 * A call's view of sticky sessions (HTTP only): the transport provides it,
 * every other transport refuses to open one and never binds one.
 */
export interface SessionBinding {
  /**
   * Bind `state` to a new session that lives `ttlSeconds` (the server's
   * default when omitted) from now; its `close()`, if it has one, runs once
   * when the session ends (close, expiry, drain, shutdown).
   */
  open(state: unknown, ttlSeconds?: number): Effect.Effect<void, RpcError>;
  /**
   * Open a session whose state `acquire` builds in the session's own Scope:
   * its finalizers (e.g. an `Effect.acquireRelease`) run once when the
   * session ends. A failed acquisition opens nothing and closes that Scope.
   */
  acquire<S, E>(acquire: Effect.Effect<S, E, Scope.Scope>, ttlSeconds?: number): Effect.Effect<S, E | RpcError>;
  /** The state of the session this request carries or opened, undefined when none. */
  readonly state: unknown;
  /** The session's id (24 hex digits), undefined when none. */
  readonly id: string | undefined;
  /** End the session this request carries or opened (its state is released); nothing when there is none. */
  readonly close: Effect.Effect<void>;
}

/** The context service: call identity, `log` to send records to the client, and the call's sticky session. */
export interface CallContextService extends CallInfo {
  /** Send a log record to the client; it precedes the call's next output batch. */
  readonly log: (level: ClientLogLevel, message: string, extra?: LogExtras) => Effect.Effect<void>;
  /**
   * Open a sticky session holding `state` (HTTP with sticky sessions on;
   * the request must send `VGI-Session-Accept: true`): later requests that
   * present the returned `VGI-Session` token reach the same state.
   */
  readonly openSession: (state: unknown, ttlSeconds?: number) => Effect.Effect<void, RpcError>;
  /** Open a sticky session whose state `acquire` builds in the session's Scope (released when the session ends). */
  readonly openScopedSession: <S, E>(acquire: Effect.Effect<S, E, Scope.Scope>, ttlSeconds?: number) => Effect.Effect<S, E | RpcError>;
  /** The state of the sticky session bound to this call, or undefined. */
  readonly session: unknown;
  /** The bound session's id, or undefined. */
  readonly sessionId: string | undefined;
  /** Close the bound session (the response tells the client with `VGI-Session-Close: true`). */
  readonly closeSession: Effect.Effect<void>;
}

/** Tag of the per-call context. */
export class CallContext extends Context.Tag('vgi-rpc/CallContext')<CallContext, CallContextService>() {}

/** Log to the client from inside a handler: `yield* clientLog('INFO', 'hello')`. */
export const clientLog = (level: ClientLogLevel, message: string, extra?: LogExtras): Effect.Effect<void, never, CallContext> =>
  Effect.flatMap(CallContext, (ctx) => ctx.log(level, message, extra));
