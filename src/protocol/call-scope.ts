/**
 * Per-call plumbing shared by unary and stream calls: the CallContext value
 * with its client-log buffer, request ids, and the runner that executes
 * handler Effects on the server's runtime.
 */
import { randomBytes } from 'node:crypto';
import { Cause, Effect, Exit, type Fiber, Runtime } from 'effect';
import { CallContext, type CallContextService, type ClientLogRecord, type TransportKind } from '../service/call-context.js';

/** Executes handler Effects (the actor layer wraps this with supervision). */
export interface CallRunner {
  run<A, E>(effect: Effect.Effect<A, E, never>): Promise<Exit.Exit<A, E>>;
}

/**
 * A runner over an Effect Runtime. Handlers that complete synchronously are
 * run to completion without a Promise hop; asynchronous ones continue on
 * their fiber and are awaited.
 */
export const runtimeRunner = (rt: Runtime.Runtime<never>): CallRunner => {
  const runSync = Runtime.runSyncExit(rt);
  return {
    run: <A, E>(effect: Effect.Effect<A, E, never>): Promise<Exit.Exit<A, E>> => {
      const exit = runSync(effect);
      if (Exit.isFailure(exit)) {
        const defect = Cause.dieOption(exit.cause);
        if (defect._tag === 'Some' && Runtime.isAsyncFiberException(defect.value)) {
          const fiber = defect.value.fiber as Fiber.RuntimeFiber<A, E>;
          return new Promise((resolve) => fiber.addObserver(resolve));
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
  readonly context: CallContextService;
  /** Logs emitted since the last `takeLogs()`. */
  takeLogs(): ClientLogRecord[];
  /** Run `effect` with this call's context provided. */
  provide<A, E>(effect: Effect.Effect<A, E, CallContext>): Effect.Effect<A, E, never>;
}

/** Build the context of one call. */
export const makeCallScope = (info: {
  readonly requestId: string | undefined;
  readonly serverId: string;
  readonly protocol: string;
  readonly method: string;
  readonly transportKind: TransportKind;
  readonly requestMetadata: ReadonlyMap<string, string>;
}): CallScope => {
  let logs: ClientLogRecord[] = [];
  const context: CallContextService = {
    requestId: info.requestId ?? newRequestId(),
    serverId: info.serverId,
    protocol: info.protocol,
    method: info.method,
    transportKind: info.transportKind,
    requestMetadata: info.requestMetadata,
    log: (level, message, extra) => Effect.sync(() => {
      logs.push(extra === undefined ? { level, message } : { level, message, extra });
    }),
  };
  return {
    context,
    takeLogs: () => {
      const out = logs;
      logs = [];
      return out;
    },
    provide: (effect) => Effect.provideService(effect, CallContext, context),
  };
};
