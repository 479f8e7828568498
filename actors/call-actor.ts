/**
 * Call actors: each handler Effect (a unary call, a stream's init or one
 * stream turn) runs on the worker's Effect runtime, owned by its
 * connection's tracker. Its synchronous start runs with no fiber at all
 * (sync-run.ts); what is left after it, if anything, runs as its own fiber.
 * Handlers that complete synchronously finish without a Promise hop;
 * asynchronous ones keep running on their fiber, tracked so they can be
 * interrupted. Call fibers run without Effect's built-in fiber metrics
 * (`effect_fiber_*`, the RuntimeMetrics flag): they would count every call,
 * at a third of the cost of running a small handler.
 */
import * as Cause from 'effect/Cause';
import * as Context from 'effect/Context';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import type * as Fiber from 'effect/Fiber';
import * as FiberRef from 'effect/FiberRef';
import * as FiberRefs from 'effect/FiberRefs';
import * as LogLevel from 'effect/LogLevel';
import * as Option from 'effect/Option';
import * as Runtime from 'effect/Runtime';
import * as RuntimeFlags from 'effect/RuntimeFlags';
import { CallContext, type CallContextService } from '../src/service/call-context.js';
import { type CallRunner, type ConnectionCalls, interruptFiberId } from '../src/protocol/call-scope.js';
import type { CallTracker } from './supervisor.js';
import { syncRunSupported, syncStart } from './sync-run.js';

/** A runner placing call fibers on `rt` (less its fiber metrics), tracked by their connection. */
export const fiberRunner = <R = never>(base: Runtime.Runtime<R>): CallRunner<R> => {
  const rt = RuntimeFlags.runtimeMetrics(base.runtimeFlags)
    ? Runtime.make({ context: base.context, fiberRefs: base.fiberRefs, runtimeFlags: RuntimeFlags.disable(base.runtimeFlags, RuntimeFlags.RuntimeMetrics) })
    : base;
  // The synchronous start skips what a supervisor or a tracer would see of each step: with either, every step goes through a fiber.
  const fast = syncRunSupported() && !RuntimeFlags.opSupervision(rt.runtimeFlags)
    && Runtime.runSync(rt)(Effect.tracer) === Runtime.runSync(Runtime.defaultRuntime)(Effect.tracer);
  return runnerOn(rt, fast, undefined);
};

/** The runner of `rt`, with `callContext` (when given) as the calls' CallContext. */
const runnerOn = <R>(rt: Runtime.Runtime<R>, fast: boolean, callContext: CallContextService | undefined): CallRunner<R> => {
  // The call's context goes into a runtime of its own, derived once and only when a call needs a fiber, rather than being provided to each effect.
  let withCall: Runtime.Runtime<R> | undefined;
  const fiberRuntime = (): Runtime.Runtime<R> =>
    callContext === undefined ? rt : (withCall ??= Runtime.make({ context: Context.add(rt.context, CallContext, callContext), runtimeFlags: rt.runtimeFlags, fiberRefs: rt.fiberRefs }));
  const service = (tag: Context.Tag<unknown, unknown>): { value: unknown } | undefined => {
    if (tag.key === CallContext.key) return callContext === undefined ? undefined : { value: callContext };
    const found = Context.getOption(rt.context as Context.Context<unknown>, tag);
    return Option.isSome(found) ? { value: found.value } : undefined;
  };
  const minimumLogLevel = FiberRefs.getOrDefault(rt.fiberRefs, FiberRef.currentMinimumLogLevel);
  return {
    run: <A, E>(effect: Effect.Effect<A, E, R>, calls?: ConnectionCalls): Promise<Exit.Exit<A, E>> => {
      const tracker = calls as CallTracker | undefined;
      if (tracker?.reason !== undefined) return Promise.resolve(Exit.interrupt(interruptFiberId(tracker.reason)));
      if (!fast) return onFiber(fiberRuntime(), effect, tracker);
      const start = syncStart(effect, service);
      if (start.done) return Promise.resolve(start.exit as Exit.Exit<A, E>);
      return onFiber(fiberRuntime(), start.rest as Effect.Effect<A, E, R>, tracker);
    },
    logs: (level) => LogLevel.greaterThanEqual(level, minimumLogLevel),
    withContext: (context) => runnerOn(rt as Runtime.Runtime<CallContext>, fast, context),
  };
};

/** Run `effect` on a fiber of `rt`: to its end when it stays synchronous, else tracked by its connection until it ends. */
const onFiber = <A, E, R>(rt: Runtime.Runtime<R>, effect: Effect.Effect<A, E, R>, tracker: CallTracker | undefined): Promise<Exit.Exit<A, E>> => {
  const exit = Runtime.runSyncExit(rt)(effect);
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
};
