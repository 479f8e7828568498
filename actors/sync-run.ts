/**
 * The synchronous start of a call: most handlers are a few synchronous
 * steps (`Effect.gen` reading the CallContext, `flatMap`, `map`,
 * `Effect.sync`, a success or a failure), and a fiber for those costs more
 * than the handler itself, several times more on a worker woken for one
 * request (cold caches). This evaluator runs the leading synchronous steps
 * of an effect with no fiber, exactly as the fiber runtime would (a throw is
 * a defect; a failure skips the success continuations), and stops at the
 * first step it does not know (asynchrony, error handlers, logging, fiber
 * refs, spans...): what is left, that step and the continuations still to
 * run, goes to the fiber runtime as one effect, so every step runs exactly
 * once either way.
 *
 * It reads Effect's primitive encoding (`_op` and `effect_instruction_i*`),
 * which is internal: {@link syncRunSupported} checks the encoding of the
 * installed version once, and the runner uses the fiber runtime alone when
 * the check fails.
 */
import * as Cause from 'effect/Cause';
import * as Context from 'effect/Context';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as FiberId from 'effect/FiberId';
import { yieldWrapGet } from 'effect/Utils';

/** An effect primitive as the fiber runtime reads it. */
interface Primitive {
  readonly _op?: string;
  readonly effect_instruction_i0?: unknown;
  readonly effect_instruction_i1?: unknown;
  readonly commit?: () => unknown;
}

/** A success continuation: a flatMap's function, or a generator (`Effect.gen`) to resume with the value. */
type Continuation = ((value: unknown) => unknown) | Generator<unknown, unknown, unknown>;

/** How far the synchronous start got: the call's end, or the effect left for the fiber runtime. */
export type SyncStart =
  | { readonly done: true; readonly exit: Exit.Exit<unknown, unknown> }
  | { readonly done: false; readonly rest: Effect.Effect<unknown, unknown, unknown> };

/** Steps evaluated before the rest goes to the fiber runtime anyway (it yields cooperatively; this does not). */
const MAX_STEPS = 256;

/** A throw during a step, as the fiber runtime turns it into a failure. */
const thrown = (e: unknown): Exit.Exit<never, never> =>
  Exit.failCause(Cause.isInterruptedException(e) ? Cause.sequential(Cause.die(e), Cause.interrupt(FiberId.none)) : Cause.die(e));

/** A generator's remaining steps as an effect (for the fiber runtime). */
const resumeGenerator = (gen: Generator<unknown, unknown, unknown>, value: unknown): Effect.Effect<unknown, unknown, unknown> =>
  Effect.suspend(() => {
    const state = gen.next(value);
    if (state.done === true) return Effect.succeed(state.value);
    return Effect.flatMap(yieldWrapGet(state.value as never) as Effect.Effect<unknown, unknown, unknown>, (v) => resumeGenerator(gen, v));
  });

const asFunction = (k: Continuation): ((value: unknown) => Effect.Effect<unknown, unknown, unknown>) =>
  typeof k === 'function' ? (k as (value: unknown) => Effect.Effect<unknown, unknown, unknown>) : (v) => resumeGenerator(k, v);

/**
 * Run the synchronous start of `effect`. `service` resolves a Context tag
 * (undefined: unknown here, the fiber runtime resolves it).
 */
export const syncStart = (effect: Effect.Effect<unknown, unknown, unknown>, service: (tag: Context.Tag<unknown, unknown>) => { value: unknown } | undefined): SyncStart => {
  const stack: Continuation[] = [];
  let cur: unknown = effect;
  for (let steps = 0; steps < MAX_STEPS; steps++) {
    if (Exit.isExit(cur)) {
      // A failure skips every continuation on the stack: they all handle success only.
      if (Exit.isFailure(cur) || stack.length === 0) return { done: true, exit: cur };
      const k = stack.pop()!;
      try {
        if (typeof k === 'function') cur = k(cur.value);
        else {
          const state = k.next(cur.value);
          if (state.done === true) cur = Exit.succeed(state.value);
          else {
            stack.push(k);
            cur = yieldWrapGet(state.value as never);
          }
        }
      } catch (e) {
        cur = thrown(e);
      }
      continue;
    }
    const op = cur as Primitive;
    switch (op._op) {
      case 'Sync':
        try {
          cur = Exit.succeed((op.effect_instruction_i0 as () => unknown)());
        } catch (e) {
          cur = thrown(e);
        }
        continue;
      case 'OnSuccess':
        stack.push(op.effect_instruction_i1 as Continuation);
        cur = op.effect_instruction_i0;
        continue;
      case 'Commit':
        try {
          cur = op.commit!();
        } catch (e) {
          cur = thrown(e);
        }
        continue;
      case 'Iterator':
        // Started like a continuation resumed with undefined.
        stack.push(op.effect_instruction_i0 as Generator<unknown, unknown, unknown>);
        cur = Exit.void;
        continue;
      case 'Tag': {
        const found = service(op as unknown as Context.Tag<unknown, unknown>);
        if (found === undefined) break;
        cur = Exit.succeed(found.value);
        continue;
      }
      default:
        break;
    }
    break;
  }
  let rest = cur as Effect.Effect<unknown, unknown, unknown>;
  for (let i = stack.length - 1; i >= 0; i--) rest = Effect.flatMap(rest, asFunction(stack[i]!));
  return { done: false, rest };
};

class ProbeTag extends Context.Tag('vgi-rpc/SyncRunProbe')<ProbeTag, number>() {}

/**
 * Whether the installed Effect encodes its primitives as this evaluator
 * reads them, checked once on probe effects against the fiber runtime's
 * own answers.
 */
export const syncRunSupported: () => boolean = (() => {
  let supported: boolean | undefined;
  return () => {
    if (supported !== undefined) return supported;
    try {
      const service = (tag: Context.Tag<unknown, unknown>) => (tag.key === ProbeTag.key ? { value: 20 } : undefined);
      let ran = 0;
      const probe = Effect.gen(function* () {
        const n = yield* ProbeTag;
        const m = yield* Effect.map(Effect.sync(() => ++ran), (x) => x + n);
        return yield* Effect.flatMap(Effect.suspend(() => Effect.succeed(m)), (x) => Effect.succeed(x * 2));
      });
      const start = syncStart(probe, service);
      const failing = syncStart(Effect.flatMap(Effect.fail('no'), () => Effect.succeed(1)), service);
      const leftover = syncStart(Effect.flatMap(Effect.sync(() => ++ran), () => Effect.promise(() => Promise.resolve(0))), service);
      supported = start.done && Exit.isSuccess(start.exit) && start.exit.value === 42
        && failing.done && Exit.isFailure(failing.exit)
        && !leftover.done && ran === 2;
    } catch {
      supported = false;
    }
    return supported;
  };
})();
