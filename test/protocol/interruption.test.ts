import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import * as Effect from 'effect/Effect';
import { Client, Method, Output, RpcClientError, RpcConnection, Service, T, type Dispatcher } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';

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

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Slow], SlowLive));
});
afterAll(() => dispose());

const waitFor = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

/** A fresh client connection to the Slow service, with the event log cleared. */
const connectSlow = () => {
  events.length = 0;
  const t = memoryConnect(dispatcher);
  return { t, slow: Client.promises(Slow, new RpcConnection(t)) };
};

describe('interrupting calls', () => {
  it('a client disconnect interrupts its running unary call and releases its resources', async () => {
    const { t, slow } = connectSlow();
    const call = slow.hang({ name: 'unary' }).catch((e: unknown) => e);
    await waitFor(() => events.includes('unary:acquired'));
    expect(dispatcher.runningCalls).toBe(1);
    t.disconnect();
    await waitFor(() => events.includes('unary:released'));
    await t.served;
    expect(dispatcher.runningCalls).toBe(0);
    expect(await call).toBeInstanceOf(RpcClientError);
  });

  it('a disconnect in the middle of a stream turn releases the stream scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.hang_stream({ name: 'stream' });
    const tick = stream.tick().catch((e: unknown) => e);
    await waitFor(() => dispatcher.runningCalls === 1);
    expect(dispatcher.openStreams).toBe(1);
    t.disconnect();
    await t.served;
    expect(events).toEqual(['stream:acquired', 'stream:released']);
    expect(await tick).toBeInstanceOf(RpcClientError);
    expect(dispatcher.openStreams).toBe(0);
  });

  it('a disconnect while a stream waits for its next tick releases the stream scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.quick_stream({ name: 'idle' });
    expect((await stream.tick())!.values('n')).toEqual([1n]);
    expect(dispatcher.openStreams).toBe(1);
    expect(dispatcher.runningCalls).toBe(0);
    t.disconnect();
    await t.served;
    expect(events).toEqual(['idle:acquired', 'idle:released']);
    expect(dispatcher.openStreams).toBe(0);
  });

  it('shutdown in the middle of a stream turn answers ServerShutdownError and releases the stream scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.hang_stream({ name: 'turn' });
    const tick = stream.tick().catch((e: unknown) => e);
    await waitFor(() => dispatcher.runningCalls === 1);
    dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    const err = (await tick) as RpcClientError;
    expect(err.errorType).toBe('ServerShutdownError');
    expect(err.errorKind).toBe('server_draining');
    expect(events).toEqual(['turn:acquired', 'turn:released']);
    await waitFor(() => dispatcher.openStreams === 0);
    t.disconnect();
  });

  it('shutdown while an exchange waits for input answers its next batch with ServerShutdownError and releases the scope', async () => {
    const { t, slow } = connectSlow();
    const stream = await slow.scale({ name: 'waiting' });
    expect((await stream.exchange(Output.columns({ x: [1.5] }))).values('x')).toEqual([3]);
    expect(dispatcher.openStreams).toBe(1);
    dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    await waitFor(() => events.includes('waiting:released'));
    expect(dispatcher.openStreams).toBe(0);
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
    dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    const err = (await call) as RpcClientError;
    expect(err.errorType).toBe('ServerShutdownError');
    expect(err.errorKind).toBe('server_draining');
    expect(events).toEqual(['shutdown:acquired', 'shutdown:released']);
  });
});
