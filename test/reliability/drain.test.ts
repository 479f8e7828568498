import { describe, expect, it } from 'vitest';
import { Client, RpcClientError } from '../../src/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { Chaos, ChaosLive } from '../fixtures/chaos-service.js';
import { connectTo } from '../support/passthrough-connection.js';

const WORKER = new URL('../../dist/test/fixtures/chaos-worker-thread.js', import.meta.url);

// With a pool, connections are relayed to the workers: over MessagePort (the default) or the SAB hop.
const setups = [{ workers: 0 }, { workers: 2 }, { workers: 2, hop: 'sab' as const }];
for (const setup of setups) {
  const { workers } = setup;
  describe(`graceful drain (${workers} workers${setup.hop === undefined ? '' : `, hop ${setup.hop}`})`, () => {
    it('finishes every accepted call, refuses new connections, then stops', async () => {
      const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, ...setup, workerModule: WORKER, graceMs: 10_000 });
      const clients = Array.from({ length: 6 }, () => Client.promises(Chaos, connectTo(runtime).conn));
      const calls = clients.flatMap((c) => [c.sleep({ ms: 200n }), c.sleep({ ms: 250n }), c.sleep({ ms: 1n })]);
      await new Promise((r) => setTimeout(r, 50));
      const drained = runtime.drain();
      expect(runtime.isDraining()).toBe(true);
      const late = connectTo(runtime);
      const lateChaos = Client.promises(Chaos, late.conn);
      const refused = (await lateChaos.thread().catch((e: unknown) => e)) as RpcClientError;
      expect(refused).toBeInstanceOf(RpcClientError);
      // A connection that reaches a draining server starts no work: its requests get the typed error.
      expect(refused.errorType).toBe('ServerShutdownError');
      expect(refused.errorKind).toBe('server_draining');
      expect(refused.message).toContain('takes no new connections');
      expect(await Promise.all(calls)).toEqual(clients.flatMap(() => [200n, 250n, 1n]));
      await drained;
      expect(runtime.connections).toBe(0);
    });

    it('interrupts calls still running when the grace period ends, with a typed error', async () => {
      const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, ...setup, workerModule: WORKER, graceMs: 200 });
      const chaos = Client.promises(Chaos, connectTo(runtime).conn);
      const quick = chaos.sleep({ ms: 50n });
      const slow = Client.promises(Chaos, connectTo(runtime).conn).sleep({ ms: 60_000n }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      await runtime.drain();
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(await quick).toBe(50n);
      const err = (await slow) as RpcClientError;
      expect(err.errorType).toBe('ServerShutdownError');
      expect(err.errorKind).toBe('server_draining');
      expect(err.message).toContain('grace period');
    });

    it('lets an open stream run to its end during the drain', async () => {
      const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, ...setup, workerModule: WORKER, graceMs: 10_000 });
      const stream = await Client.promises(Chaos, connectTo(runtime).conn).count({ n: 3n });
      expect((await stream.tick())!.values('i')).toEqual([0n]);
      const drained = runtime.drain();
      await new Promise((r) => setTimeout(r, 50));
      expect((await stream.tick())!.values('i')).toEqual([1n]);
      expect((await stream.tick())!.values('i')).toEqual([2n]);
      expect(await stream.tick()).toBeNull();
      await drained;
      expect(runtime.connections).toBe(0);
    });

    it('interrupts a stream still open when the grace period ends: its next tick gets ServerShutdownError', async () => {
      const runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, ...setup, workerModule: WORKER, graceMs: 200 });
      const stream = await Client.promises(Chaos, connectTo(runtime).conn).count({ n: 100n });
      expect((await stream.tick())!.values('i')).toEqual([0n]);
      const t0 = Date.now();
      await runtime.drain();
      expect(Date.now() - t0).toBeLessThan(2_000);
      const err = (await stream.tick().catch((e: unknown) => e)) as RpcClientError;
      expect(err).toBeInstanceOf(RpcClientError);
      expect(err.errorType).toBe('ServerShutdownError');
      expect(err.message).toContain('grace period');
    });
  });
}
