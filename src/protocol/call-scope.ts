/**
 * Per-call plumbing shared by unary and stream calls: the CallContext value
 * with its client-log buffer, request ids, and the runner that executes
 * handler Effects on the server's runtime.
 */
import { randomBytes } from 'node:crypto';
import { Cause, Effect, Exit, type Fiber, FiberId, Runtime } from 'effect';
import { CallContext, type CallContextService, type ClientLogRecord, type TransportKind } from '../service/call-context.js';

/** Why a call was interrupted from outside its handler. */
export type InterruptReason =
  | { readonly _tag: 'disconnect'; readonly detail: string }
  | { readonly _tag: 'shutdown'; readonly detail: string };

/**
 * The fibers one connection's calls are running. When the connection goes
 * away or the server shuts down, every one of them is interrupted with a
 * reason; their Scopes release what the handlers acquired.
 */
export class CallTracker {
  private readonly fibers = new Set<Fiber.RuntimeFiber<unknown, unknown>>();
  /** Set once the tracker's calls are being interrupted. */
  reason: InterruptReason | undefined;

  /** Fibers still running. */
  get size(): number {
    return this.fibers.size;
  }

  /** @internal */
  add(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    if (this.reason !== undefined) fiber.unsafeInterruptAsFork(fiber.id());
    else this.fibers.add(fiber);
  }

  /** @internal */
  delete(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    this.fibers.delete(fiber);
  }

  /** Interrupt every running call (and any started later) with `reason`. */
  interruptAll(reason: InterruptReason): void {
    this.reason ??= reason;
    for (const f of this.fibers) f.unsafeInterruptAsFork(f.id());
  }
}

/** Executes handler Effects as fibers owned by a connection's tracker. */
export interface CallRunner {
  run<A, E>(effect: Effect.Effect<A, E, never>, tracker?: CallTracker): Promise<Exit.Exit<A, E>>;
}

/**
 * A runner over an Effect Runtime. Handlers that complete synchronously are
 * run to completion without a Promise hop; asynchronous ones continue on
 * their fiber, tracked by the connection so they can be interrupted.
 */
export const runtimeRunner = (rt: Runtime.Runtime<never>): CallRunner => {
  const runSync = Runtime.runSyncExit(rt);
  return {
    run: <A, E>(effect: Effect.Effect<A, E, never>, tracker?: CallTracker): Promise<Exit.Exit<A, E>> => {
      if (tracker?.reason !== undefined) return Promise.resolve(Exit.interrupt(FiberId.none));
      const exit = runSync(effect);
      if (Exit.isFailure(exit)) {
        const defect = Cause.dieOption(exit.cause);
        if (defect._tag === 'Some' && Runtime.isAsyncFiberException(defect.value)) {
          const fiber = defect.value.fiber as Fiber.RuntimeFiber<A, E>;
          tracker?.add(fiber as Fiber.RuntimeFiber<unknown, unknown>);
          return new Promise((resolve) => fiber.addObserver((e) => {
            tracker?.delete(fiber as Fiber.RuntimeFiber<unknown, unknown>);
            resolve(e);
          }));
        }
      }
      return Promise.resolve(exit);
    },
  };
};

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
  /** Run `effect` with this call's context provided. */
  provide<A, E>(effect: Effect.Effect<A, E, CallContext>): Effect.Effect<A, E, never>;
}

/** What a call scope is built from. */
export interface CallInfoInput {
  readonly requestId: string | undefined;
  readonly serverId: string;
  readonly protocol: string;
  readonly method: string;
  readonly transportKind: TransportKind;
  readonly requestMetadata: ReadonlyMap<string, string>;
}

const NO_LOGS: ClientLogRecord[] = [];

/** Build the context of one call. */
export const makeCallScope = (info: CallInfoInput): CallScope => {
  let logs: ClientLogRecord[] | undefined;
  let context: CallContextService | undefined;
  const getContext = (): CallContextService => {
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
    provide: (effect) => Effect.provideService(effect, CallContext, getContext()),
  };
};
