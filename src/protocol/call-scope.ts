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

/** One binding per transport kind without sessions (they hold nothing per call). */
const noSessionsByKind = new Map<TransportKind, SessionBinding>();
const noSessionsOf = (kind: TransportKind): SessionBinding => {
  let b = noSessionsByKind.get(kind);
  if (b === undefined) noSessionsByKind.set(kind, (b = noSessions(kind)));
  return b;
};

const NO_LOGS: ClientLogRecord[] = [];

/**
 * A call's context: one small object per call whose functions are made on
 * access (a getter each, on the prototype) rather than five closures built
 * up front, since most handlers never touch them. A context is allocated
 * on every call that asks for it; under load V8 may pretenure such a site,
 * so a large one costs old-generation space and slower scavenges (measured
 * on sticky resumes: the context was most of what each call promoted).
 * Destructuring still works: each getter returns a function bound to the call.
 */
class LiveCallContext implements CallContextService {
  readonly requestId: string;
  readonly serverId: string;
  readonly protocol: string;
  readonly method: string;
  readonly transportKind: TransportKind;
  readonly requestMetadata: ReadonlyMap<string, string>;

  constructor(info: CallInfoInput, private readonly binding: SessionBinding, private readonly scope: LiveCallScope) {
    this.requestId = info.requestId ?? newRequestId();
    this.serverId = info.serverId;
    this.protocol = info.protocol;
    this.method = info.method;
    this.transportKind = info.transportKind;
    this.requestMetadata = info.requestMetadata;
  }

  get log(): CallContextService['log'] {
    const scope = this.scope;
    return (level, message, extra) => Effect.sync(() => scope.push(extra === undefined ? { level, message } : { level, message, extra }));
  }

  get openSession(): CallContextService['openSession'] {
    const binding = this.binding;
    return (state, ttlSeconds) => binding.open(state, ttlSeconds);
  }

  get openScopedSession(): CallContextService['openScopedSession'] {
    const binding = this.binding;
    return (acquire, ttlSeconds) => binding.acquire(acquire, ttlSeconds);
  }

  get session(): unknown {
    return this.binding.state;
  }

  get sessionId(): string | undefined {
    return this.binding.id;
  }

  get closeSession(): Effect.Effect<void> {
    return this.binding.close;
  }
}

/** A call's scope: its context, built on first use, and its client-log buffer. */
class LiveCallScope implements CallScope {
  private logs: ClientLogRecord[] | undefined;
  private built: LiveCallContext | undefined;

  constructor(private readonly info: CallInfoInput) {}

  get context(): CallContextService {
    return (this.built ??= new LiveCallContext(this.info, this.info.session ?? noSessionsOf(this.info.transportKind), this));
  }

  push(record: ClientLogRecord): void {
    (this.logs ??= []).push(record);
  }

  takeLogs(): ClientLogRecord[] {
    const out = this.logs ?? NO_LOGS;
    this.logs = undefined;
    return out;
  }
}

/** Build the context of one call. */
export const makeCallScope = (info: CallInfoInput): CallScope => new LiveCallScope(info);
