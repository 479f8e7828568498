/**
 * A relayed client that reads slowly still gets every answer, over both
 * hops. Over the SAB hop the worker's last answers wait in a ring until the
 * main thread can write them, so the connection must not be finished when
 * the worker's task ends, only once they are all out. Needs the compiled
 * bench worker (build first).
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, RpcConnection } from '../../src/index.js';
import { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { framesFrom, writerTo } from '../../runtime/node-stream-io.js';
import { Bench, BenchLive } from '../../examples/bench/bench-service.js';

const WORKER = new URL('../../dist/examples/bench/worker-thread.js', import.meta.url);

// The port hop passes too (its answers are queued on the socket as they arrive): the two hops agree.
for (const hop of ['sab', 'port'] as const) describe(`relay hop ${hop}`, () => {
  let runtime: RpcRuntime;
  beforeAll(async () => {
    // Rings of 4 KiB: a large answer streams through in pieces, a small one fits.
    runtime = await RpcRuntime.start({ services: [Bench], layer: BenchLive, workers: 1, workerModule: WORKER, hop, hopRingBytes: 4096 });
  });
  afterAll(() => runtime.shutdown());

  it('a client that reads nothing for 2.5 s after half-closing still gets every answer', async () => {
    const toServer = new PassThrough();
    // What the relay writes to: full after 16 KiB, and it stays full until the client starts reading.
    const wire = new PassThrough();
    const toClient = new PassThrough();
    const served = runtime.serve({ readable: toServer, writable: wire, transportKind: 'pipe', label: 'slow client' });
    const conn = new RpcConnection({ frames: framesFrom(toClient), write: writerTo(toServer), close: () => { toServer.end(); } });
    const bench = Client.promises(Bench, conn);
    const large = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);
    const small = new Uint8Array([1, 2, 3]);
    // The first answer fills the wire, so the relay waits for it to drain; the second one waits in the ring.
    const answers = Promise.all([bench.echo_bytes({ data: large }), bench.echo_bytes({ data: small })]);
    // The requests are out: end the input, so the worker ends its task once its answers are in the ring.
    await new Promise((r) => setTimeout(r, 200));
    toServer.end();
    await new Promise((r) => setTimeout(r, 2_500));
    wire.pipe(toClient);
    const [a, b] = await answers;
    expect(Buffer.from(a).equals(Buffer.from(large))).toBe(true);
    expect([...b]).toEqual([1, 2, 3]);
    expect(await served.done).toEqual({});
  });
});
