/**
 * The actor layer as the protocol core sees it: unary calls and stream
 * turns as fibers (call-actor), streams as StreamActors, both supervised by
 * the per-worker Supervisor.
 */
import type * as Runtime from 'effect/Runtime';
import type { Actors } from '../src/protocol/call-scope.js';
import { fiberRunner } from './call-actor.js';
import { streamRunner } from './stream-actor.js';

/** The actors of one worker, running on its Effect runtime. */
export const workerActors = (rt: Runtime.Runtime<never>): Actors => {
  const runner = fiberRunner(rt);
  return { ...runner, ...streamRunner(runner) };
};
