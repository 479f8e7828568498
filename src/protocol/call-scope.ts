/**
 * Per-call plumbing shared by unary and stream calls: the CallContext value
 * with its client-log buffer, request ids, and the contracts of the actor
 * layer that runs handler Effects as supervised fibers.
 */
import { randomBytes } from 'node:crypto';
import * as Effect from 'effect/Effect';
import type * as Exit from 'effect/Exit';
import type * as LogLevel from 'effect/LogLevel';
import type * as FiberId from 'effect/FiberId';
import { Interruption } from '../service/interruption.js';
import type { CallContext, CallContextService, ClientLogRecord, SessionBinding, TransportKind } from '../service/call-context.js';
import { Errors } from '../service/errors.js';
import type { CallShm } from './connection-shm.js';
import type { ByteConnection } from './byte-connection.js';
import type { OpenedStream, StreamMethod } from './stream-protocol.js';

/** Why a call was interrupted from outside its handler. */
export type InterruptReason =
  | { readonly _tag: 'disconnect'; readonly detail: string }
  | { readonly _tag: 'shutdown'; readonly detail: string };

/** The fiber id a call interrupted for `reason` is interrupted with, so its finalizers can tell why (see Interruption). */
export const interruptFiberId = (reason: InterruptReason | undefined): FiberId.FiberId =>
  Interruption.fiberId(reason?._tag === 'shutdown' ? 'shutdown' : 'client-gone');

/**
 * A connection's calls as the protocol sees them: interrupted together (with
 * a reason) when the connection goes away or the server shuts down. The
 * actor layer implements it.
 */
export interface ConnectionCalls {
  /** Set once the connection's calls are being interrupted. */
  readonly reason: InterruptReason | undefined;
  /** Handler fibers still running. */
  readonly size: number;
  /** Interrupt every running call (and any started later) with `reason`. */
  interruptAll(reason: InterruptReason): void;
}

/**
 * Executes handler Effects as fibers owned by a connection (the actor layer
 * implements it). `R` is what the effects may require: nothing, or the
 * CallContext of a runner made by `withContext`.
 */
export interface CallRunner<R = never> {
  run<A, E>(effect: Effect.Effect<A, E, R>, calls?: ConnectionCalls): Promise<Exit.Exit<A, E>>;
  /** A runner whose effects get `context` as their CallContext (made once per call or stream: cheaper than providing it to every effect). */
  withContext(context: CallContextService): CallRunner<CallContext>;
  /** True when the runtime's minimum log level lets records at `level` through (so a record it would drop is never built). */
  logs(level: LogLevel.LogLevel): boolean;
}

/** Runs one stream call as an actor owned by a connection (the actor layer implements it). */
export interface StreamRunner {
  /** Serve the stream whose request was just read from `conn`; resolves when the stream is over. */
  runStream(
    conn: ByteConnection,
    scope: CallScope,
    method: StreamMethod,
    handler: (params: never) => Effect.Effect<unknown, unknown, never>,
    params: Record<string, unknown>,
    calls: ConnectionCalls,
    /** The client's segment, when the connection has one (see CallShm). */
    shm?: CallShm,
  ): Promise<void>;
  /**
   * Open a stream driven turn by turn from outside (HTTP): run its init
   * under `calls` and give its header and live state, kept until it ends or
   * is closed.
   */
  openStream(
    scope: CallScope,
    method: StreamMethod,
    handler: (params: never) => Effect.Effect<unknown, unknown, never>,
    params: Record<string, unknown>,
    calls: ConnectionCalls,
    /** The handler rebuilds a stream from its state (a resumable stream's `resume`): no header is sent again. */
    resumed?: boolean,
  ): Promise<OpenedStream>;
}

/** Everything a dispatcher needs from the actor layer to run calls. */
export interface Actors extends CallRunner, StreamRunner {}

/** Where a dispatcher registers its connections (the actor layer's per-worker supervisor). */
export interface Supervision {
  /** A new connection's calls. */
  open(): ConnectionCalls;
  /** The connection is finished. */
  close(calls: ConnectionCalls): void;
  /** Connections being served. */
  readonly connections: number;
  /** Handler fibers running across all connections. */
  readonly runningCalls: number;
  /** Open producer and exchange streams across all connections (running a turn or waiting for input). */
  readonly openStreams: number;
  /** Interrupt everything (shutdown after the grace period). */
  interruptAll(reason: InterruptReason): void;
}

const idPrefix = randomBytes(4).toString('hex');
let idCounter = randomBytes(4).readUInt32BE(0);

/** A fresh 16-hex request id: a per-process random prefix and a counter (unique within the process). */
export const newRequestId = (): string => {
  idCounter = (idCounter + 1) >>> 0;
  return idPrefix + idCounter.toString(16).padStart(8, '0');
};

/** A call's context plus the buffer its client logs accumulate in. */
export interface CallScope {
  /** The call's context (built on first use: a handler that is a plain value never needs it). */
  readonly context: CallContextService;
  /** Logs emitted since the last `takeLogs()`. */
  takeLogs(): ClientLogRecord[];
}

/** What a call scope is built from. */
export interface CallInfoInput {
  readonly requestId: string | undefined;
  readonly serverId: string;
  readonly protocol: string;
  readonly method: string;
  readonly transportKind: TransportKind;
  readonly requestMetadata: ReadonlyMap<string, string>;
  /** The call's sticky session (HTTP); absent: the transport has none. */
  readonly session?: SessionBinding;
}

const noSessionError = (transportKind: TransportKind) =>
  Errors.runtime(`sticky sessions not available on this transport: open_session needs the HTTP transport (this call came over ${transportKind})`);

/** The session binding of a transport without sticky sessions: opening fails, nothing is ever bound. */
export const noSessions = (transportKind: TransportKind): SessionBinding => ({
  open: () => Effect.fail(noSessionError(transportKind)),
  acquire: () => Effect.fail(noSessionError(transportKind)),
  state: undefined,
  id: undefined,
  close: Effect.void,
});

const NO_LOGS: ClientLogRecord[] = [];

/** Build the context of one call. */
export const makeCallScope = (info: CallInfoInput): CallScope => {
  let logs: ClientLogRecord[] | undefined;
  let context: CallContextService | undefined;
  const getContext = (): CallContextService => {
    const session = info.session ?? noSessions(info.transportKind);
    context ??= {
      requestId: info.requestId ?? newRequestId(),
      serverId: info.serverId,
      protocol: info.protocol,
      method: info.method,
      transportKind: info.transportKind,
      requestMetadata: info.requestMetadata,
      log: (level, message, extra) => Effect.sync(() => {
        (logs ??= []).push(extra === undefined ? { level, message } : { level, message, extra });
      }),
      openSession: (state, ttlSeconds) => session.open(state, ttlSeconds),
      openScopedSession: (acquire, ttlSeconds) => session.acquire(acquire, ttlSeconds),
      get session() {
        return session.state;
      },
      get sessionId() {
        return session.id;
      },
      closeSession: session.close,
    };
    return context;
  };
  return {
    get context() {
      return getContext();
    },
    takeLogs: () => {
      const out = logs ?? NO_LOGS;
      logs = undefined;
      return out;
    },
  };
};
