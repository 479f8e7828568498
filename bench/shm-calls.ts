/**
 * Unary calls from the main thread to a service on one worker thread, end
 * to end through the client and the protocol: over the in-process `shm`
 * transport (SAB channel), and for context over a unix socket to the same
 * kind of server in this process (`accept: 'workers'`: socket only;
 * `accept: 'relay'`: socket plus the MessagePort hop). Sequential calls
 * (latency) and 32 pipelined in flight (throughput), Bench.add and a 1 KiB
 * echo_bytes. Run: `npx tsc -p . && node dist/bench/shm-calls.js`.
 * Not part of bench/run.ts.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type RpcConnection } from '../src/index.js';
import { Bench, BenchLive } from '../examples/bench/bench-service.js';
import { timeCalls as time } from './stats.js';
import { type ByteStreamEndpoint, open } from '../transports/connect.js';
import { type ServeOptions, startServer } from '../transports/serve.js';

const workerModule = new URL('../examples/bench/worker-thread.js', import.meta.url);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const lanes: readonly (readonly [string, ServeOptions<never>['listen'], 'workers' | 'relay' | undefined])[] = [
  ['shm', { kind: 'shm' }, undefined],
  ['unix (workers accept)', { kind: 'unix', path: join(tmpdir(), `vgi-shm-calls-${process.pid}-a.sock`) }, 'workers'],
  ['unix (relay)', { kind: 'unix', path: join(tmpdir(), `vgi-shm-calls-${process.pid}-b.sock`) }, 'relay'],
];

const main = async (): Promise<void> => {
  const quick = process.argv.includes('--quick');
  const n = quick ? 2_000 : 20_000;
  console.log(`shm-calls: one worker thread, our client on the main thread, ${fmt(n)} calls per row (best of 3 after a warm-up); CPU = whole process per call`);
  console.log('| transport | workload | calls/s | CPU µs/call |');
  console.log('| --- | --- | ---: | ---: |');
  const data = new Uint8Array(1024).fill(3);
  for (const [name, listen, accept] of lanes) {
    const server = await startServer({ services: [Bench], layer: BenchLive, workerModule, workers: 1, listen, ...(accept === undefined ? {} : { accept }) });
    const conn: RpcConnection = await open(server.endpoint as Exclude<ByteStreamEndpoint, string>);
    const bench = Client.promises(Bench, conn);
    const workloads: readonly (readonly [string, () => Promise<unknown>])[] = [
      ['add, sequential', async () => { for (let i = 0; i < n; i++) await bench.add({ a: i, b: 1 }); }],
      ['add, 32 in flight', async () => {
        for (let i = 0; i < n; i += 32) await Promise.all(Array.from({ length: 32 }, (_, j) => bench.add({ a: i + j, b: 1 })));
      }],
      ['echo_bytes 1 KiB, sequential', async () => { for (let i = 0; i < n; i++) await bench.echo_bytes({ data }); }],
    ];
    for (const [label, run] of workloads) {
      await run(); // warm-up
      let best = { perSec: 0, cpuUs: 0 };
      for (let r = 0; r < 3; r++) {
        const m = await time(n, run);
        if (m.perSec > best.perSec) best = m;
      }
      console.log(`| ${name} | ${label} | ${fmt(best.perSec)} | ${best.cpuUs.toFixed(1)} |`);
    }
    await conn.close();
    await server.drain();
  }
};

await main();
