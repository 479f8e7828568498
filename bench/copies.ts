/**
 * Bytes copied and transferred per call when a unix-socket connection is
 * served by a worker thread: our runtime in this process (RpcRuntime with a
 * pool of 1 worker running the Bench service, serveUnix on a real socket),
 * our client on the same process over that socket, sequential calls.
 *
 * Main thread (RpcRuntime.counters): request bytes read from the socket and
 * posted to the worker, transferred as is or copied first; response bytes
 * the worker posted back (each one gathered by the worker into one fresh
 * buffer: one copy, then transferred) and written to the socket as is.
 * Worker thread (bench/copy-probe-worker.ts): every byte JS code in the
 * worker copied with TypedArray set/slice, which includes that gather, the
 * reassembly of a message body that arrived in several socket reads and the
 * encoding of the result column. Kernel copies (socket read and write) are
 * not counted anywhere.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, RpcConnection } from '../src/index.js';
import { RpcRuntime } from '../runtime/rpc-runtime.js';
import { serveUnix } from '../transports/unix/unix-server.js';
import { connectUnix } from '../transports/unix/unix-client.js';
import { Bench, BenchLive } from '../examples/bench/bench-service.js';

/** The same channel name as in bench/copy-probe-worker.ts. */
const PROBE_CHANNEL = 'vgi-rpc-bench-copy-probe';

/** Per-call byte accounting of one workload. */
export interface CopyResult {
  readonly workload: string;
  readonly calls: number;
  /** Main thread: request bytes transferred to the worker without a copy. */
  readonly main_transferred: number;
  /** Main thread: request bytes copied before the transfer. */
  readonly main_copied: number;
  /** Worker: response bytes gathered into one buffer (one copy) and transferred to the main thread. */
  readonly worker_gathered: number;
  /** Worker: every byte JS code copied (includes worker_gathered). */
  readonly worker_js_copied: number;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Measure; returns the results and a printable table. */
export const measureCopies = async (log: (s: string) => void): Promise<{ results: CopyResult[]; table: string }> => {
  log('copies: RpcRuntime (1 worker, Bench with a copy probe) + serveUnix in this process, our client over a real unix socket, sequential calls');
  const runtime = await RpcRuntime.start({
    services: [Bench],
    layer: BenchLive,
    workers: 1,
    workerModule: new URL('./copy-probe-worker.js', import.meta.url),
  });
  const path = join(tmpdir(), `vgi-bench-copies-${process.pid}.sock`);
  const listener = await serveUnix(runtime, path);
  const conn = new RpcConnection(connectUnix(path));
  const bench = Client.promises(Bench, conn);
  const probe = new BroadcastChannel(PROBE_CHANNEL);
  const workerCopied = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the copy probe did not answer')), 5000);
      probe.onmessage = (m) => {
        clearTimeout(timer);
        resolve(((m as { data: { copied: number } }).data).copied);
      };
      probe.postMessage('report');
    });
  const results: CopyResult[] = [];
  const measure = async (workload: string, warmup: number, calls: number, call: () => Promise<void>): Promise<void> => {
    for (let i = 0; i < warmup; i++) await call();
    const c0 = { ...runtime.counters };
    const w0 = await workerCopied();
    for (let i = 0; i < calls; i++) await call();
    const w1 = await workerCopied();
    const c1 = runtime.counters;
    results.push({
      workload,
      calls,
      main_transferred: (c1.transferred - c0.transferred) / calls,
      main_copied: (c1.copied - c0.copied) / calls,
      worker_gathered: (c1.gathered - c0.gathered) / calls,
      worker_js_copied: (w1 - w0) / calls,
    });
  };
  try {
    await measure('unary add', 200, 2000, async () => {
      if ((await bench.add({ a: 1, b: 2 })) !== 3) throw new Error('add returned a wrong result');
    });
    const payload = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
    await measure('echo_bytes(1 MiB)', 3, 30, async () => {
      const r = await bench.echo_bytes({ data: payload });
      if (r.byteLength !== payload.byteLength || r[12345] !== payload[12345]) throw new Error('echo_bytes returned wrong bytes');
    });
  } finally {
    probe.close();
    await conn.close();
    await listener.close();
    await runtime.shutdown();
  }
  const header = `${'per call'.padEnd(20)} ${'request B'.padStart(10)} ${'main: transferred'.padStart(18)} ${'main: copied'.padStart(13)} ${'response B (gathered: 1 copy in worker)'.padStart(40)} ${'worker: all JS copies'.padStart(22)}`;
  const rows = results.map((r) =>
    `${r.workload.padEnd(20)} ${fmt(r.main_transferred + r.main_copied).padStart(10)} ${fmt(r.main_transferred).padStart(18)} ${fmt(r.main_copied).padStart(13)} ${fmt(r.worker_gathered).padStart(40)} ${fmt(r.worker_js_copied).padStart(22)}`);
  return { results, table: ['bytes per call through a worker (unix socket, pool of 1)', header, ...rows].join('\n') };
};

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const { results, table } = await measureCopies((s) => process.stderr.write(`${s}\n`));
  process.stdout.write(`${table}\n${JSON.stringify({ copies: results })}\n`);
}
