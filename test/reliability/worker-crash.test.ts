import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError } from '../../src/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { Chaos, ChaosLive } from '../fixtures/chaos-service.js';
import { connectTo } from '../support/passthrough-connection.js';

const WORKER = new URL('../../dist/test/fixtures/chaos-worker-thread.js', import.meta.url);

// The relay's two hops: a client of a dead worker gets the same typed error over either.
for (const hop of ['port', 'sab'] as const) {
  describe(`relay hop ${hop}`, () => {
    let runtime: RpcRuntime;
    beforeAll(async () => {
      runtime = await RpcRuntime.start({ services: [Chaos], layer: ChaosLive, workers: 2, workerModule: WORKER, resourceLimits: { maxOldGenerationSizeMb: 64 }, hop });
    });
    afterAll(() => runtime.shutdown());

    /** Open connections until two of them live on different worker threads. */
    const twoWorkers = async () => {
      const seen = new Map<bigint, ReturnType<typeof Client.promises<'Chaos', typeof Chaos.methods>>>();
      for (let i = 0; i < 20 && seen.size < 2; i++) {
        const chaos = Client.promises(Chaos, connectTo(runtime).conn);
        const id = await chaos.thread();
        if (!seen.has(id)) seen.set(id, chaos);
      }
      expect(seen.size).toBe(2);
      return [...seen.entries()];
    };

    describe('worker crash isolation', () => {
      for (const how of ['throw', 'exit', 'oom'] as const) {
        it(`a worker killed by ${how} fails only its own calls; others complete; it is replaced`, async () => {
          const [[victimId, victim], [otherId, other]] = await twoWorkers() as [[bigint, ReturnType<typeof Client.promises<'Chaos', typeof Chaos.methods>>], [bigint, ReturnType<typeof Client.promises<'Chaos', typeof Chaos.methods>>]];
          const survivors = Array.from({ length: 8 }, () => other.sleep({ ms: 300n }));
          const crashed = victim.crash({ how }).catch((e: unknown) => e);
          const err = (await crashed) as RpcClientError;
          expect(err).toBeInstanceOf(RpcClientError);
          expect(err.errorType).toBe('WorkerCrashedError');
          expect(err.message).toMatch(how === 'throw' ? /chaos: uncaught throw/ : how === 'exit' ? /exit|code 7/i : /memory|heap|ERR_WORKER_OUT_OF_MEMORY/i);
          expect(await Promise.all(survivors)).toEqual(Array(8).fill(300n));
          const fresh = Client.promises(Chaos, connectTo(runtime).conn);
          expect(await fresh.sleep({ ms: 1n })).toBe(1n);
          const threads = new Set<bigint>();
          for (let i = 0; i < 10 && threads.size < 2; i++) threads.add(await Client.promises(Chaos, connectTo(runtime).conn).thread());
          expect(threads.has(otherId)).toBe(true);
          expect(threads.has(victimId)).toBe(false);
          expect(runtime.workers).toBe(2);
        });
      }
    });
  });
}
