/**
 * A measurement of step 4's question, not a transport: would the relay
 * (`accept: 'relay'`: the main thread accepts, a worker serves) be faster
 * with the SAB channel as its thread hop instead of MessagePort? Both
 * servers run in this process on one worker thread; our client connects
 * over a unix socket. `port`: the runtime's relay as it is (serveUnix with
 * accept 'relay'). `sab`: a prototype relay for this bench only: each
 * accepted socket gets a SAB channel served by the worker as an `shm`
 * transport task; the main thread copies socket reads into the ring (the
 * worker reassembles IPC from the chunks) and writes each frame the worker
 * answers to the socket, with backpressure both ways. No drain, crash or
 * probe handling: it measures the hop only.
 * Run: `npx tsc -p . && node dist/bench/relay-hop.js [--quick] [--ring BYTES]`.
 */
import { type Socket, createServer } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, RpcConnection } from '../src/index.js';
import { Bench, BenchLive } from '../examples/bench/bench-service.js';
import { timeCalls as time } from './stats.js';
import { RpcRuntime } from '../runtime/rpc-runtime.js';
import { serveUnix } from '../transports/unix/unix-server.js';
import { connectUnix } from '../transports/unix/unix-client.js';
import { DEFAULT_RING_BYTES, createSabChannel, openSide } from '../runtime/sab-channel.js';
import { SHM_TASKS, type ShmTask } from '../transports/shm/shm-worker-hook.js';

const workerModule = new URL('../examples/bench/worker-thread.js', import.meta.url);
/** Data bytes per direction of the prototype's channels (`--ring N`, default the channel's 256 KiB). */
const ringArg = process.argv.indexOf('--ring');
const RING_BYTES = ringArg > 0 ? Number(process.argv[ringArg + 1]) : DEFAULT_RING_BYTES;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The prototype SAB relay on `path`; resolves with its closer once listening. */
const sabRelay = async (runtime: RpcRuntime, path: string): Promise<() => Promise<void>> => {
  const pool = runtime.workerPool!;
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    const channel = createSabChannel(RING_BYTES);
    const { port1, port2 } = new MessageChannel();
    const task: ShmTask = { channel, label: 'bench relay', control: port2 };
    void pool.runTask(pool.liveWorkers[0]!, { transport: SHM_TASKS, payload: task }, [port2]).finally(() => port1.close());
    const { reader, writer } = openSide(channel, 'a');
    socket.on('data', (chunk: Buffer) => {
      const w = writer.write(chunk);
      if (w !== undefined) {
        socket.pause();
        void w.then(() => socket.resume(), () => socket.destroy());
      }
    });
    socket.on('end', () => void writer.close());
    socket.on('close', () => reader.close());
    void (async () => {
      for (;;) {
        let f = reader.tryRead();
        while (f === undefined) {
          await reader.readable();
          f = reader.tryRead();
        }
        if (f === null) break;
        if (!socket.write(f)) await new Promise((r) => socket.once('drain', r));
      }
      socket.end();
    })().catch(() => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(path, r));
  return () => new Promise<void>((r) => server.close(() => r()));
};

const main = async (): Promise<void> => {
  const quick = process.argv.includes('--quick');
  const n = quick ? 2_000 : 20_000;
  console.log(`relay-hop: unix socket -> main thread -> one worker thread, our client in this process, ${fmt(n)} calls per row, best of 3 after a warm-up; CPU = whole process per call (client included)`);
  console.log('| hop | workload | calls/s | CPU µs/call |');
  console.log('| --- | --- | ---: | ---: |');
  const data = new Uint8Array(1024).fill(3);
  const big = new Uint8Array(256 * 1024).fill(5);
  for (const hop of ['port', 'sab'] as const) {
    const runtime = await RpcRuntime.start({ services: [Bench], layer: BenchLive, workerModule, workers: 1, accept: 'relay' });
    const path = join(tmpdir(), `vgi-relay-hop-${process.pid}-${hop}.sock`);
    const close = hop === 'port' ? await serveUnix(runtime, path).then((l) => () => l.close()) : await sabRelay(runtime, path);
    const conn = new RpcConnection(connectUnix(path));
    const bench = Client.promises(Bench, conn);
    const workloads: readonly (readonly [string, number, () => Promise<unknown>])[] = [
      ['add, sequential', n, async () => { for (let i = 0; i < n; i++) await bench.add({ a: i, b: 1 }); }],
      ['add, 32 in flight', n, async () => {
        for (let i = 0; i < n; i += 32) await Promise.all(Array.from({ length: 32 }, (_, j) => bench.add({ a: i + j, b: 1 })));
      }],
      ['echo_bytes 1 KiB, sequential', n, async () => { for (let i = 0; i < n; i++) await bench.echo_bytes({ data }); }],
      ['echo_bytes 256 KiB, sequential', n / 20, async () => { for (let i = 0; i < n / 20; i++) await bench.echo_bytes({ data: big }); }],
    ];
    for (const [label, count, run] of workloads) {
      await run();
      let best = { perSec: 0, cpuUs: 0 };
      for (let r = 0; r < 3; r++) {
        const m = await time(count, run);
        if (m.perSec > best.perSec) best = m;
      }
      console.log(`| ${hop} | ${label} | ${fmt(best.perSec)} | ${best.cpuUs.toFixed(1)} |`);
    }
    await conn.close();
    await close();
    await runtime.shutdown();
  }
};

await main();
