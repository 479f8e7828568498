/**
 * The synchronous start of a call (actors/sync-run.ts) against the fiber
 * runtime: for every effect shape, the same exit; every step runs exactly
 * once whether the start finishes the call or hands the rest to a fiber;
 * a throw is a defect, a failure skips the success continuations, and an
 * unknown step (asynchrony, error handlers, logging) goes to the fiber with
 * the continuations still owed.
 */
import { describe, expect, it } from 'vitest';
import * as Cause from 'effect/Cause';
import * as Context from 'effect/Context';
import * as Data from 'effect/Data';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Option from 'effect/Option';
import { syncRunSupported, syncStart } from '../../actors/sync-run.js';

class Num extends Context.Tag('test/Num')<Num, number>() {}
class Missing extends Context.Tag('test/Missing')<Missing, number>() {}
class Oops extends Data.TaggedError('Oops')<{ readonly why: string }> {}

const services = Context.make(Num, 5);
const service = (tag: Context.Tag<unknown, unknown>): { value: unknown } | undefined => {
  const found = Context.getOption(services as Context.Context<unknown>, tag);
  return Option.isSome(found) ? { value: found.value } : undefined;
};

/** Run through the synchronous start, then a fiber for the rest; the exit and whether the start finished alone. */
const viaStart = async (effect: Effect.Effect<unknown, unknown, unknown>): Promise<{ exit: Exit.Exit<unknown, unknown>; alone: boolean }> => {
  const start = syncStart(effect, service);
  if (start.done) return { exit: start.exit, alone: true };
  return { exit: await Effect.runPromiseExit(Effect.provide(start.rest as Effect.Effect<unknown, unknown, never>, services)), alone: false };
};
const viaFiber = (effect: Effect.Effect<unknown, unknown, unknown>): Promise<Exit.Exit<unknown, unknown>> =>
  Effect.runPromiseExit(Effect.provide(effect as Effect.Effect<unknown, unknown, never>, services));

/** Effect shapes, each built afresh (with its own step counter) for every run. */
const shapes: Record<string, { build: (count: () => void) => Effect.Effect<unknown, unknown, unknown>; alone: boolean; steps: number }> = {
  succeed: { build: () => Effect.succeed(1), alone: true, steps: 0 },
  'gen reading a service': {
    build: (count) => Effect.gen(function* () {
      const n = yield* Num;
      const m = yield* Effect.sync(() => (count(), n * 2));
      return m + 1;
    }),
    alone: true, steps: 1,
  },
  'flatMap / map / tap / andThen chain': {
    build: (count) => Effect.succeed(2).pipe(
      Effect.flatMap((x) => Effect.sync(() => (count(), x + 1))),
      Effect.map((x) => x * 10),
      Effect.tap(() => Effect.sync(count)),
      Effect.andThen((x) => Effect.succeed(`${x}`)),
    ),
    alone: true, steps: 2,
  },
  'nested gens': {
    build: (count) => Effect.gen(function* () {
      const inner = yield* Effect.gen(function* () {
        count();
        return (yield* Num) + 1;
      });
      return inner * 3;
    }),
    alone: true, steps: 1,
  },
  // Failing with an object captures the fiber's span into it: that step needs the fiber.
  'a yielded typed error skips the rest (on the fiber)': {
    build: (count) => Effect.gen(function* () {
      count();
      yield* new Oops({ why: 'bad' });
      count();
      return 1;
    }),
    alone: false, steps: 1,
  },
  'Effect.fail in a flatMap': { build: (count) => Effect.flatMap(Effect.sync(count), () => Effect.fail('nope')), alone: true, steps: 1 },
  'a throw in a sync step is a defect': { build: () => Effect.sync(() => { throw new Error('boom'); }), alone: true, steps: 0 },
  'a throw in a generator is a defect': {
    build: (count) => Effect.gen(function* () {
      count();
      yield* Effect.void;
      throw new Error('gen boom');
    }),
    alone: true, steps: 1,
  },
  'a throw in a flatMap function is a defect': { build: () => Effect.flatMap(Effect.succeed(1), () => { throw new Error('f boom'); }), alone: true, steps: 0 },
  'asynchrony midway in a gen': {
    build: (count) => Effect.gen(function* () {
      count();
      const a = yield* Effect.promise(() => Promise.resolve(4));
      count();
      const n = yield* Num;
      return a + n;
    }),
    alone: false, steps: 2,
  },
  'asynchrony under continuations': {
    build: (count) => Effect.sync(count).pipe(
      Effect.flatMap(() => Effect.sleep(1)),
      Effect.flatMap(() => Effect.sync(() => (count(), 7))),
      Effect.map((x) => x + 1),
    ),
    alone: false, steps: 2,
  },
  'an error handler goes to the fiber': {
    build: (count) => Effect.gen(function* () {
      count();
      return yield* Effect.catchAll(Effect.fail('x'), (e) => Effect.succeed(`caught ${e}`));
    }),
    alone: false, steps: 1,
  },
  'logging goes to the fiber': {
    build: (count) => Effect.gen(function* () {
      count();
      yield* Effect.logDebug('hello');
      count();
      return 3;
    }),
    alone: false, steps: 2,
  },
  'a service not known here goes to the fiber (which fails as it would)': {
    build: (count) => Effect.flatMap(Effect.sync(count), () => Missing),
    alone: false, steps: 1,
  },
  'a long synchronous loop is finished by the fiber': {
    build: (count) => Effect.gen(function* () {
      let total = 0;
      for (let i = 0; i < 1_000; i++) total += yield* Effect.sync(() => (count(), i));
      return total;
    }),
    alone: false, steps: 1_000,
  },
};

describe('syncStart', () => {
  it('recognizes the installed Effect', () => {
    expect(syncRunSupported()).toBe(true);
  });

  for (const [name, shape] of Object.entries(shapes)) {
    it(`${name}: the fiber runtime's exit, each step once`, async () => {
      let fiberSteps = 0;
      let startSteps = 0;
      const expected = await viaFiber(shape.build(() => fiberSteps++));
      const got = await viaStart(shape.build(() => startSteps++));
      expect(got.alone, 'finished without a fiber').toBe(shape.alone);
      expect(startSteps).toBe(shape.steps);
      expect(fiberSteps).toBe(shape.steps);
      expect(Exit.isSuccess(got.exit)).toBe(Exit.isSuccess(expected));
      if (Exit.isSuccess(got.exit) && Exit.isSuccess(expected)) expect(got.exit.value).toEqual(expected.value);
      if (Exit.isFailure(got.exit) && Exit.isFailure(expected)) {
        expect(Cause.squash(got.exit.cause)).toEqual(Cause.squash(expected.cause));
        expect(Cause.isDie(got.exit.cause)).toBe(Cause.isDie(expected.cause));
        expect(Cause.isFailType(got.exit.cause) || Cause.failureOption(got.exit.cause)._tag === 'Some').toBe(Cause.failureOption(expected.cause)._tag === 'Some');
      }
    });
  }
});
