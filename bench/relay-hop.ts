/**
 * The relay's thread hop, measured: the runtime's relay (`accept: 'relay'`:
 * the main thread accepts, a worker serves) with `hop: 'port'` (transferred
 * buffers over a MessagePort) and `hop: 'sab'` (a SharedArrayBuffer ring
 * per direction), in one run. Both servers run in this process on one
 * worker thread each; our client connects over a unix socket. Each workload
 * runs in a fresh process (see main), is warmed up, then timed in `ROUNDS`
 * rounds that alternate the two hops
 * (so a load change on the machine hits both), and the best round of each
 * is printed. CPU is the whole process's per call (client included).
 * Run: `npx tsc -p . && node dist/bench/relay-hop.js [--quick] [--ring BYTES] [--rounds N]`
 * (`--ring`: the sab hop's ring size per direction, default 256 KiB;
 * `--rounds`: timed rounds per hop, default 3).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Client, RpcConnection } from '../src/index.js';
import { Bench, BenchLive } from '../examples/bench/bench-service.js';
import { timeCalls as time } from './stats.js';
import { RpcRuntime } from '../runtime/rpc-runtime.js';
import type { RelayHop } from '../runtime/sab-relay.js';
import { serveUnix } from '../transports/unix/unix-server.js';
import { connectUnix } from '../transports/unix/unix-client.js';

const workerModule = new URL('../examples/bench/worker-thread.js', import.meta.url);
const ringArg = process.argv.indexOf('--ring');
const RING_BYTES = ringArg > 0 ? Number(process.argv[ringArg + 1]) : undefined;
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A relay server with `hop` and a client connected to it. */
const start = async (hop: RelayHop) => {
  const runtime = await RpcRuntime.start({
    services: [Bench], layer: BenchLive, workerModule, workers: 1, accept: 'relay', hop,
    ...(hop === 'sab' && RING_BYTES !== undefined ? { hopRingBytes: RING_BYTES } : {}),
  });
  const path = join(tmpdir(), `vgi-relay-hop-${process.pid}-${hop}.sock`);
  const listener = await serveUnix(runtime, path);
  const conn = new RpcConnection(connectUnix(path));
  return {
    bench: Client.promises(Bench, conn),
    close: async () => {
      await conn.close();
      await listener.close();
      await runtime.shutdown();
    },
  };
};

/** Measure workload `row` with both hops in this process; prints its table row. */
const measureRow = async (row: number, n: number): Promise<void> => {
  const servers = { port: await start('port'), sab: await start('sab') };
  const small = new Uint8Array(256 * 1024).fill(5);
  const large = new Uint8Array(1024 * 1024).fill(7);
  type Bench = (typeof servers)['port']['bench'];
  const [label, count, run] = workloads<Bench>(n, small, large)[row]!;
  const best = { port: { perSec: 0, cpuUs: 0 }, sab: { perSec: 0, cpuUs: 0 } };
  for (const hop of ['port', 'sab'] as const) await run(servers[hop].bench, Math.max(1, count / 4));
  for (let r = 0; r < ROUNDS; r++) {
    const order: readonly RelayHop[] = r % 2 === 0 ? ['port', 'sab'] : ['sab', 'port'];
    for (const hop of order) {
      const m = await time(count, () => run(servers[hop].bench, count));
      if (m.perSec > best[hop].perSec) best[hop] = m;
    }
  }
  console.log(`| ${label} | ${fmt(best.port.perSec)} | ${fmt(best.sab.perSec)} | ${(best.sab.perSec / best.port.perSec).toFixed(2)} | ${best.port.cpuUs.toFixed(1)} | ${best.sab.cpuUs.toFixed(1)} |`);
  await servers.port.close();
  await servers.sab.close();
};

/** The workloads: label, calls per round, and the calls. */
const workloads = <B extends { add(p: { a: number; b: number }): Promise<unknown>; echo_bytes(p: { data: Uint8Array }): Promise<unknown> }>(n: number, small: Uint8Array, large: Uint8Array): readonly (readonly [string, number, (b: B, count: number) => Promise<unknown>])[] => [
  ['add, sequential', n, async (b, count) => { for (let i = 0; i < count; i++) await b.add({ a: i, b: 1 }); }],
  ['add, 32 in flight', n, async (b, count) => {
    for (let i = 0; i < count; i += 32) await Promise.all(Array.from({ length: 32 }, (_, j) => b.add({ a: i + j, b: 1 })));
  }],
  ['echo_bytes 256 KiB, sequential', n / 10, async (b, count) => { for (let i = 0; i < count; i++) await b.echo_bytes({ data: small }); }],
  ['echo_bytes 1 MiB, sequential', n / 40, async (b, count) => { for (let i = 0; i < count; i++) await b.echo_bytes({ data: large }); }],
];

const main = async (): Promise<void> => {
  const quick = process.argv.includes('--quick');
  const n = quick ? 2_000 : 20_000;
  const rowArg = process.argv.indexOf('--row');
  if (rowArg > 0) return measureRow(Number(process.argv[rowArg + 1]), n);
  console.log(`relay-hop: unix socket -> main thread -> one worker thread, our client in this process; sab ring ${fmt(RING_BYTES ?? 256 * 1024)} B per direction; each workload in a fresh process (a heap grown by earlier rows makes V8 collect the old generation on every few large answers, which would skew the later rows), both hops in it, best of ${ROUNDS} alternating rounds after a warm-up; CPU = whole process per call (client included)`);
  console.log('| workload | port calls/s | sab calls/s | sab / port | port CPU µs/call | sab CPU µs/call |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const rows = workloads(n, new Uint8Array(0), new Uint8Array(0)).length;
  for (let row = 0; row < rows; row++) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--row', String(row)], { stdio: ['ignore', 'inherit', 'inherit'] });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`the row ${row} process exited with ${code}`);
  }
};

await main();
