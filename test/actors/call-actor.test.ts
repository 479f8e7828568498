/**
 * The call runner: a handler that completes synchronously is answered
 * without a Promise hop through its own fiber, an asynchronous one keeps
 * its fiber, the call context reaches the handler as the CallContext
 * service, and call fibers leave Effect's built-in fiber metrics alone.
 */
import { describe, expect, it } from 'vitest';
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Metric from 'effect/Metric';
import * as Runtime from 'effect/Runtime';
import * as RuntimeFlags from 'effect/RuntimeFlags';
import { fiberRunner } from '../../actors/call-actor.js';
import { CallContext, type CallContextService } from '../../src/service/call-context.js';

const started = Metric.counter('effect_fiber_started', { incremental: true });
/** Read through a runtime that counts no fibers itself, so reading leaves the count alone. */
const quiet = Runtime.make({ ...Runtime.defaultRuntime, runtimeFlags: RuntimeFlags.disable(Runtime.defaultRuntime.runtimeFlags, RuntimeFlags.RuntimeMetrics) });
const startedCount = (): number => Runtime.runSync(quiet)(Metric.value(started)).count as number;

describe('fiberRunner', () => {
  it('runs sync and async handlers with the call context, and counts no call fibers in the fiber metrics', async () => {
    const runner = fiberRunner(Runtime.defaultRuntime);
    const context = { serverId: 'test' } as unknown as CallContextService;
    const before = startedCount();
    const sync = await runner.withContext(context).run(Effect.map(CallContext, (c) => (c as { serverId: string }).serverId));
    const async = await runner.withContext(context).run(Effect.as(Effect.sleep(5), 7));
    expect(sync).toEqual(Exit.succeed('test'));
    expect(async).toEqual(Exit.succeed(7));
    expect(startedCount(), 'call fibers were counted').toBe(before);
    // The default runtime does count fibers: the metric is live, the runner just does not feed it.
    Runtime.runSync(Runtime.defaultRuntime)(Effect.sync(() => 1));
    expect(startedCount()).toBe(before + 1);
  });
});
