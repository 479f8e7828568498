/**
 * Test support: a service served in the test's own thread (a dispatcher
 * built in beforeAll, disposed in afterAll) and fresh in-memory client
 * connections to it, plus a polling wait for a condition.
 */
import type * as Layer from 'effect/Layer';
import { afterAll, beforeAll, expect } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { type AnyService, Client, type Dispatcher, RpcConnection } from '../../src/index.js';
import type { Methods, ServiceDef, ServiceImpl } from '../../src/service/service.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';

/** Serve `services` with `layer` for the tests of this file; `connect(service)` opens a fresh in-memory client. */
export const inProcess = <E>(services: readonly AnyService[], layer: Layer.Layer<ServiceImpl<any>, E, never>) => {
  let dispatcher: Dispatcher | undefined;
  let dispose: () => Promise<void> = async () => {};
  beforeAll(async () => {
    ({ dispatcher, dispose } = await makeDispatcher(services, layer));
  });
  afterAll(() => dispose());
  return {
    /** The dispatcher (built once beforeAll has run). */
    get dispatcher(): Dispatcher {
      return dispatcher!;
    },
    /** A fresh connection: its transport (to disconnect) and a Promise client of `service`. */
    connect: <N extends string, M extends Methods>(service: ServiceDef<N, M>) => {
      const t = memoryConnect(dispatcher!);
      return { t, client: Client.promises(service, new RpcConnection(t)) };
    },
  };
};

/** Wait until `cond` holds (polling every 5 ms, for at most `ms`), then assert it. */
export const waitFor = async (cond: () => boolean, ms = 2_000): Promise<void> => {
  for (let waited = 0; waited < ms && !cond(); waited += 5) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};
