import { describe, expect, it } from 'vitest';
import * as Effect from 'effect/Effect';
import { Method, Output, RpcClientError, Service, T } from '../../src/index.js';
import { inProcess, waitFor } from '../support/in-process.js';

const events: string[] = [];

const resource = (name: string) =>
  Effect.acquireRelease(Effect.sync(() => events.push(`${name}:acquired`)), () => Effect.sync(() => events.push(`${name}:released`)));

const Slow = Service.define('Slow', {}, {
  hang: Method.unary({ params: { name: T.utf8 }, result: T.utf8 }),
  hang_stream: Method.producer({ params: { name: T.utf8 }, output: { n: T.int64 } }),
  quick_stream: Method.producer({ params: { name: T.utf8 }, output: { n: T.int64 } }),
  scale: Method.exchange({ params: { name: T.utf8 }, input: { x: T.float64 }, output: { x: T.float64 } }),
});

const SlowLive = Slow.toLayer({
  hang: ({ name }) => Effect.scoped(Effect.gen(function* () {
    yield* resource(name);
    return yield* Effect.never;
  })),
  hang_stream: ({ name }) => Effect.gen(function* () {
    yield* resource(name);
    return { produce: () => Effect.as(Effect.never, Output.done) };
  }),
  quick_stream: ({ name }) => Effect.gen(function* () {
    yield* resource(name);
    return { produce: () => Effect.succeed(Output.rows([{ n: 1n }])) };
  }),
  scale: ({ name }) => Effect.gen(function* () {
    yield* resource(name);
    return { exchange: (input) => Effect.succeed(Output.columns({ x: input.values('x').map((x) => x * 2) })) };
  }),
});

const server = inProcess([Slow], SlowLive);

/** A fresh client connection to the Slow service, with the event logs cleared. */
const connectSlow = () => {
  events.length = 0;
  const { t, client } = server.connect(Slow);
  return { t, slow: client };
};

describe('interrupting calls', () => {
  it('a client disconnect interrupts its running unary call and releases its resources', async () => {
    const { t, slow } = connectSlow();
    const call = slow.hang({ name: 'unary' }).catch((e: unknown) => e);
    await waitFor(() => events.includes('unary:acquired'));
    expect(server.dispatcher.runningCalls).toBe(1);
    t.disconnect();
    await waitFor(() => events.includes('unary:released'));
    await t.served;
    expect(server.dispatcher.runningCalls).toBe(0);
    expect(await call).toBeInstanceOf(RpcClientError);
  });

  it('a disconnect in the middle of a stream turn releases the stream scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.hang_stream({ name: 'stream' });
    const tick = stream.tick().catch((e: unknown) => e);
    await waitFor(() => server.dispatcher.runningCalls === 1);
    expect(server.dispatcher.openStreams).toBe(1);
    t.disconnect();
    await t.served;
    expect(events).toEqual(['stream:acquired', 'stream:released']);
    expect(await tick).toBeInstanceOf(RpcClientError);
    expect(server.dispatcher.openStreams).toBe(0);
  });

  it('a disconnect while a stream waits for its next tick releases the stream scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.quick_stream({ name: 'idle' });
    expect((await stream.tick())!.values('n')).toEqual([1n]);
    expect(server.dispatcher.openStreams).toBe(1);
    expect(server.dispatcher.runningCalls).toBe(0);
    t.disconnect();
    await t.served;
    expect(events).toEqual(['idle:acquired', 'idle:released']);
    expect(server.dispatcher.openStreams).toBe(0);
  });

  it('shutdown in the middle of a stream turn answers ServerShutdownError and releases the stream scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.hang_stream({ name: 'turn' });
    const tick = stream.tick().catch((e: unknown) => e);
    await waitFor(() => server.dispatcher.runningCalls === 1);
    server.dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    const err = (await tick) as RpcClientError;
    expect(err.errorType).toBe('ServerShutdownError');
    expect(err.errorKind).toBe('server_draining');
    expect(events).toEqual(['turn:acquired', 'turn:released']);
    await waitFor(() => server.dispatcher.openStreams === 0);
    t.disconnect();
  });

  it('shutdown while an exchange waits for input answers its next batch with ServerShutdownError and releases the scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.scale({ name: 'waiting' });
    expect((await stream.exchange(Output.columns({ x: [1.5] }))).values('x')).toEqual([3]);
    expect(server.dispatcher.openStreams).toBe(1);
    server.dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    await waitFor(() => events.includes('waiting:released'));
    expect(server.dispatcher.openStreams).toBe(0);
    const err = (await stream.exchange(Output.columns({ x: [2] })).catch((e: unknown) => e)) as RpcClientError;
    expect(err).toBeInstanceOf(RpcClientError);
    expect(err.errorType).toBe('ServerShutdownError');
    expect(events).toEqual(['waiting:acquired', 'waiting:released']);
    t.disconnect();
  });

  it('shutdown interrupts running calls with a typed error and releases resources', async () => {
    const { t, slow } = connectSlow();
    const call = slow.hang({ name: 'shutdown' }).catch((e: unknown) => e);
    await waitFor(() => events.includes('shutdown:acquired'));
    server.dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    const err = (await call) as RpcClientError;
    expect(err.errorType).toBe('ServerShutdownError');
    expect(err.errorKind).toBe('server_draining');
    expect(events).toEqual(['shutdown:acquired', 'shutdown:released']);
  });
});
