import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { Effect } from 'effect';
import { Client, Method, Output, RpcClientError, RpcConnection, Service, T, type Dispatcher } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';

const events: string[] = [];

const resource = (name: string) =>
  Effect.acquireRelease(Effect.sync(() => events.push(`${name}:acquired`)), () => Effect.sync(() => events.push(`${name}:released`)));

const Slow = Service.define('Slow', {}, {
  hang: Method.unary({ params: { name: T.utf8 }, result: T.utf8 }),
  hang_stream: Method.producer({ params: { name: T.utf8 }, output: { n: T.int64 } }),
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

describe('interrupting calls', () => {
  it('a client disconnect interrupts its running unary call and releases its resources', async () => {
    events.length = 0;
    const t = memoryConnect(dispatcher);
    const slow = Client.promises(Slow, new RpcConnection(t));
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
    events.length = 0;
    const t = memoryConnect(dispatcher);
    const slow = Client.promises(Slow, new RpcConnection(t));
    const stream = await slow.hang_stream({ name: 'stream' });
    const tick = stream.tick().catch((e: unknown) => e);
    await waitFor(() => dispatcher.runningCalls === 1);
    t.disconnect();
    await t.served;
    expect(events).toEqual(['stream:acquired', 'stream:released']);
    expect(await tick).toBeInstanceOf(RpcClientError);
  });

  it('shutdown interrupts running calls with a typed error and releases resources', async () => {
    events.length = 0;
    const t = memoryConnect(dispatcher);
    const slow = Client.promises(Slow, new RpcConnection(t));
    const call = slow.hang({ name: 'shutdown' }).catch((e: unknown) => e);
    await waitFor(() => events.includes('shutdown:acquired'));
    dispatcher.interruptAll({ _tag: 'shutdown', detail: 'grace period of 0 s elapsed' });
    const err = (await call) as RpcClientError;
    expect(err.errorType).toBe('ServerShutdownError');
    expect(err.errorKind).toBe('server_draining');
    expect(events).toEqual(['shutdown:acquired', 'shutdown:released']);
  });
});
