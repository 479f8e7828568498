/**
 * The demo service: a unary call with a default, a logging call, a typed
 * error, a producer stream with a header, an exchange stream, and `whoami`
 * (which thread served the call).
 */
import * as Effect from 'effect/Effect';
import { isMainThread, threadId } from 'node:worker_threads';
import { Errors, Method, Output, Service, T, clientLog } from '../../src/index.js';

/** A 2-D point: travels as a nested one-row Arrow IPC stream. */
export const Point = T.record('Point', { x: T.float64, y: T.float64 });

/** The Demo protocol. */
export const Demo = Service.define('Demo', { version: '1.0.0' }, {
  greet: Method.unary({ params: { name: T.utf8, greeting: T.utf8 }, defaults: { greeting: 'Hello' }, result: T.utf8 }),
  norm: Method.unary({ params: { point: Point }, result: T.float64 }),
  divide: Method.unary({ params: { a: T.float64, b: T.float64 }, result: T.float64 }),
  countdown: Method.producer({
    params: { from: T.int64 },
    header: { total: T.int64 },
    output: { n: T.int64, label: T.utf8 },
  }),
  scale: Method.exchange({ params: { factor: T.float64 }, input: { x: T.float64 }, output: { x: T.float64 } }),
  whoami: Method.unary({ result: T.utf8 }),
});

/** Handlers of the Demo protocol, as a Layer. */
export const DemoLive = Demo.toLayer({
  greet: ({ name, greeting }) => Effect.succeed(`${greeting}, ${name}!`),
  norm: ({ point }) =>
    Effect.gen(function* () {
      yield* clientLog('INFO', 'computing a norm', { x: point.x, y: point.y });
      return Math.hypot(point.x, point.y);
    }),
  divide: ({ a, b }) => (b === 0 ? Effect.fail(Errors.value('division by zero')) : Effect.succeed(a / b)),
  countdown: ({ from }) =>
    Effect.sync(() => {
      let n = from;
      return {
        header: { total: from },
        produce: () => Effect.sync(() => (n <= 0n ? Output.done : Output.rows([{ n, label: `T-${n--}` }]))),
      };
    }),
  scale: ({ factor }) =>
    Effect.succeed({
      exchange: (input) => Effect.sync(() => Output.columns({ x: input.values('x').map((x) => x * factor) })),
    }),
  whoami: () => Effect.sync(() => (isMainThread ? 'the main thread' : `worker thread ${threadId}`)),
});
