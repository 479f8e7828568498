import { describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import * as Effect from 'effect/Effect';
import { CallContext, Client, RpcConnection, type TransportKind } from '../../src/index.js';
import { ServeStartError } from '../../src/protocol/dispatcher.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { Method, Service, T } from '../../src/index.js';

const Kinds = Service.define('Kinds', {}, { kind: Method.unary({ result: T.utf8 }) });
const KindsLive = Kinds.toLayer({ kind: () => Effect.map(CallContext, (c) => c.transportKind) });

describe('onServeStart and the transport kind', () => {
  it('fires once per dispatcher with the first connection kind; calls see their own kind', async () => {
    const seen: TransportKind[] = [];
    const { dispatcher, dispose } = await makeDispatcher([Kinds], KindsLive, { onServeStart: (k) => Effect.sync(() => { seen.push(k); }) });
    const a = Client.promises(Kinds, new RpcConnection(memoryConnect(dispatcher, 'unix')));
    const b = Client.promises(Kinds, new RpcConnection(memoryConnect(dispatcher, 'tcp')));
    expect(await a.kind()).toBe('unix');
    expect(await b.kind()).toBe('tcp');
    expect(seen).toEqual(['unix']);
    await dispose();
  });

  it('a failing hook refuses that connection and is retried on the next', async () => {
    let attempts = 0;
    const { dispatcher, dispose } = await makeDispatcher([Kinds], KindsLive, {
      onServeStart: () => Effect.suspend(() => (++attempts === 1 ? Effect.fail(new Error('not yet')) : Effect.void)),
    });
    const first = memoryConnect(dispatcher, 'pipe');
    await expect(first.served).rejects.toBeInstanceOf(ServeStartError);
    const second = Client.promises(Kinds, new RpcConnection(memoryConnect(dispatcher, 'pipe')));
    expect(await second.kind()).toBe('pipe');
    expect(attempts).toBe(2);
    await dispose();
  });
});
