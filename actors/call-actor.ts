/**
 * Call actors: each handler Effect (a unary call, a stream's init or one
 * stream turn) runs as its own fiber on the worker's Effect runtime, owned by
 * its connection's tracker. Handlers that complete synchronously finish
 * without a Promise hop; asynchronous ones keep running on their fiber,
 * tracked so they can be interrupted. Call fibers run without Effect's
 * built-in fiber metrics (`effect_fiber_*`, the RuntimeMetrics flag): they
 * would count every call, at a third of the cost of running a small
 * handler.
 */
import * as Cause from 'effect/Cause';
import * as Context from 'effect/Context';
import type * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import type * as Fiber from 'effect/Fiber';
import * as FiberRef from 'effect/FiberRef';
import * as FiberRefs from 'effect/FiberRefs';
import * as LogLevel from 'effect/LogLevel';
import * as Runtime from 'effect/Runtime';
import * as RuntimeFlags from 'effect/RuntimeFlags';
import { CallContext } from '../src/service/call-context.js';
import { type CallRunner, type ConnectionCalls, interruptFiberId } from '../src/protocol/call-scope.js';
import type { CallTracker } from './supervisor.js';

/** A runner placing call fibers on `rt` (less its fiber metrics), tracked by their connection. */
export const fiberRunner = <R = never>(base: Runtime.Runtime<R>): CallRunner<R> => {
  const rt = RuntimeFlags.runtimeMetrics(base.runtimeFlags)
    ? Runtime.make({ context: base.context, fiberRefs: base.fiberRefs, runtimeFlags: RuntimeFlags.disable(base.runtimeFlags, RuntimeFlags.RuntimeMetrics) })
    : base;
  const runSync = Runtime.runSyncExit(rt);
  const minimumLogLevel = FiberRefs.getOrDefault(rt.fiberRefs, FiberRef.currentMinimumLogLevel);
  return {
    run: <A, E>(effect: Effect.Effect<A, E, R>, calls?: ConnectionCalls): Promise<Exit.Exit<A, E>> => {
      const tracker = calls as CallTracker | undefined;
      if (tracker?.reason !== undefined) return Promise.resolve(Exit.interrupt(interruptFiberId(tracker.reason)));
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
    // The call's context goes into a runtime of its own, derived once, rather than being provided to each effect.
    logs: (level) => LogLevel.greaterThanEqual(level, minimumLogLevel),
    withContext: (context) =>
      fiberRunner(Runtime.make({ context: Context.add(rt.context, CallContext, context), runtimeFlags: rt.runtimeFlags, fiberRefs: rt.fiberRefs })),
  };
};
