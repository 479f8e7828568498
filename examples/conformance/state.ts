/**
 * Unary methods over server-side state: the cancel-probe counters and the
 * sticky-session counter (notes §4.7).
 */
import * as Effect from 'effect/Effect';
import { type Handlers, Method, T } from '../../src/index.js';
import type { ConformanceEnv } from './env.js';
import { StickyCounter, boundCounter } from './sessions.js';

/** `cancel_probe_counters`, `reset_cancel_probe`, `open_counter`, `increment_counter`, `close_counter`. */
export const stateMethods = {
  cancel_probe_counters: Method.unary({ result: T.list(T.optional(T.int64)) }),
  reset_cancel_probe: Method.unary({}),
  open_counter: Method.unary({ params: { initial: T.int64 }, result: T.int64 }),
  increment_counter: Method.unary({ params: { by: T.int64 }, result: T.int64 }),
  close_counter: Method.unary({ result: T.int64 }),
};

/** Handlers of `stateMethods` over the host's probe and sessions. */
export const stateHandlers = ({ probe, sessions }: ConformanceEnv): Handlers<typeof stateMethods> => ({
  cancel_probe_counters: () => Effect.sync(() => probe.snapshot().map((n) => BigInt(n))),
  reset_cancel_probe: () => Effect.sync(() => probe.reset()),
  open_counter: ({ initial }) => Effect.as(sessions.open(new StickyCounter(initial)), initial),
  increment_counter: ({ by }) =>
    Effect.map(boundCounter(sessions), (c) => {
      c.value += by;
      return c.value;
    }),
  close_counter: () =>
    Effect.flatMap(boundCounter(sessions), (c) => {
      const value = c.value;
      return Effect.as(sessions.close, value);
    }),
});
