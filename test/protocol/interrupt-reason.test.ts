/**
 * Interrupt reasons inside Effect: a handler's finalizers read why the
 * runtime interrupted it (Interruption.reasonOf on the Exit a finalizer
 * gets, or on Effect.onInterrupt's interruptors): a client that went away,
 * a cancelled stream, or a server shutting down.
 */
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Cause from 'effect/Cause';
import * as FiberId from 'effect/FiberId';
import { describe, expect, it } from 'vitest';
import { Interruption, Method, Output, Service, T } from '../../src/index.js';
import { inProcess, waitFor } from '../support/in-process.js';

const released: string[] = [];
const interruptedBy: string[] = [];

/** A resource whose release records the reason it was released with. */
const tracked = (name: string) =>
  Effect.acquireRelease(Effect.void, (_, exit) => Effect.sync(() => released.push(`${name}:${Interruption.reasonOf(exit) ?? (Exit.isSuccess(exit) ? 'done' : 'failed')}`)));

const Probe = Service.define('Probe', {}, {
  hang: Method.unary({ params: { name: T.utf8 }, result: T.utf8 }),
  ticks: Method.producer({ params: { name: T.utf8 }, output: { n: T.int64 } }),
});

const ProbeLive = Probe.toLayer({
  hang: ({ name }) => Effect.scoped(Effect.gen(function* () {
    yield* tracked(name);
    return yield* Effect.never.pipe(Effect.onInterrupt((ids) => Effect.sync(() => interruptedBy.push(`${name}:${Interruption.reasonOf(ids)}`))));
  })),
  ticks: ({ name }) => Effect.gen(function* () {
    yield* tracked(name);
    return { produce: () => Effect.succeed(Output.rows([{ n: 1n }])) };
  }),
});

const server = inProcess([Probe], ProbeLive);

/** A fresh client connection to the Probe service, with the event logs cleared. */
const connect = () => {
  released.length = 0;
  interruptedBy.length = 0;
  const { t, client } = server.connect(Probe);
  return { t, probe: client };
};

describe('interrupt reasons inside Effect', () => {
  it('a client that goes away: its unary call is interrupted with client-gone', async () => {
    const { t, probe } = connect();
    const call = probe.hang({ name: 'unary' }).catch(() => undefined);
    await waitFor(() => server.dispatcher.runningCalls === 1);
    t.disconnect();
    await t.served;
    await call;
    expect(interruptedBy).toEqual(['unary:client-gone']);
    expect(released).toEqual(['unary:client-gone']);
  });

  it('a server shutting down: the call is interrupted with shutdown', async () => {
    const { t, probe } = connect();
    const call = probe.hang({ name: 'unary' }).catch(() => undefined);
    await waitFor(() => server.dispatcher.runningCalls === 1);
    server.dispatcher.interruptAll({ _tag: 'shutdown', detail: 'test' });
    await call;
    await waitFor(() => released.length === 1);
    expect(interruptedBy).toEqual(['unary:shutdown']);
    expect(released).toEqual(['unary:shutdown']);
    t.disconnect();
    await t.served;
  });

  it('a cancelled stream closes its Scope with cancel; a finished one with none', async () => {
    const { t, probe } = connect();
    const cancelled = await probe.ticks({ name: 'cancelled' });
    await cancelled.tick();
    await cancelled.cancel();
    const finished = await probe.ticks({ name: 'finished' });
    await finished.tick();
    await finished.close();
    await waitFor(() => released.length === 2);
    expect(released[0]).toBe('cancelled:cancel');
    expect(released[1]).not.toMatch(/cancel|client-gone|shutdown/);
    t.disconnect();
    await t.served;
  });

  it('a stream idle between turns when its client goes away: client-gone', async () => {
    const { t, probe } = connect();
    const s = await probe.ticks({ name: 'idle' });
    await s.tick();
    t.disconnect();
    await t.served;
    await waitFor(() => released.length === 1);
    expect(released).toEqual(['idle:client-gone']);
  });

  it('reasonOf ignores interruptions that are not the runtime\'s', () => {
    expect(Interruption.reasonOf(Exit.interrupt(FiberId.make(42, 0)))).toBeUndefined();
    expect(Interruption.reasonOf(Exit.void)).toBeUndefined();
    expect(Interruption.reasonOf(Cause.interrupt(Interruption.fiberId('shutdown')))).toBe('shutdown');
  });
});
