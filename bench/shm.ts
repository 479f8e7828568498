/**
 * Shared-memory benchmark: the bench worker over our byte-stream transports,
 * with and without a client-owned segment, in one run:
 *   - producer MB/s: `produce` batches of 65,536 rows of {i: int64, x: float64} (1 MiB each);
 *   - 1 MiB `echo_bytes` round trips per second;
 *   - exchange of 1 MiB batches (`double`, 131,072 float64 per batch) per second;
 * on `pipe` (the stdio worker, the subprocess client with a pipe for stdout),
 * `socketpair` (the same with the subprocess client's default Linux socket
 * pair), `unix` (`--unix --workers 1`) and `shm-segment` (the stdio worker
 * with a 16 MiB segment), plus memcpy of 1 MiB on this machine as the floor.
 * Each measure runs in fresh processes, so it first warms up: producer
 * streams of 500 batches for WARM_MS of wall time (the per-batch cost of
 * both processes keeps falling for several thousand batches as V8 tiers up
 * the read and write paths; a warm-up of a few hundred batches measured
 * the JIT, not the transport), then 200 echoes and 200 exchange turns; echo and exchange time
 * ROUND_TRIPS of each.
 * A sweep then runs the producer at 256 KiB, 1 MiB and 4 MiB batches on
 * pipe and zero-copy shm, to show how much of the gap to memcpy is a
 * fixed cost per batch (the lockstep round trip) rather than per byte.
 * Rounds are interleaved and the best round of each is reported. On a
 * shared machine wall-clock rates swing with other load, so the producer's
 * CPU cost (client and server process time per MiB, from process.cpuUsage
 * and /proc/<pid>/stat) is reported too: the lowest of the rounds, and the
 * load average before and after. `shm-segment` copies each batch out of the
 * segment; `shm-zerocopy` is the same with the client segment's `zeroCopy`
 * option (producer and exchange output decoded over the segment, valid
 * until the stream moves on). The handlers build nothing per batch:
 * `produce` emits the same prebuilt columns every tick, `echo_bytes`
 * returns its argument, `double` maps its input to a new Float64Array.
 * Optional part `shm` of bench/run.ts (BENCH_PARTS=...,shm), and standalone:
 *
 *   node dist/bench/shm.js [--rounds N] [--batches N]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Output, type RpcConnection } from '../src/index.js';
import { open } from '../transports/connect.js';
import { Bench } from '../examples/bench/bench-service.js';
import { CLK_TCK, processTicks } from './proc-cpu.js';

const WORKER = fileURLToPath(new URL('../examples/bench/worker.js', import.meta.url));
const MiB = 1024 * 1024;

interface Lane {
  readonly name: string;
  connect(): Promise<{ conn: RpcConnection; pid: number; stop(): Promise<void> }>;
}

const stdio = (name: string, extra: { stdoutPipe?: boolean; shm?: number; zeroCopy?: boolean }): Lane => ({
  name,
  connect: async () => {
    const conn = await open({
      command: [process.execPath, WORKER],
      spawn: extra.stdoutPipe === true ? { stdoutPipe: true } : {},
      ...(extra.shm === undefined ? {} : { shm: { size: extra.shm, zeroCopy: extra.zeroCopy === true } }),
    });
    return { conn, pid: (conn.transport as unknown as { child: { pid: number } }).child.pid, stop: () => conn.close() };
  },
});

const unix = (dir: string): Lane => ({
  name: 'unix',
  connect: async () => {
    const child = spawn(process.execPath, [WORKER, '--unix', join(dir, `b${Date.now()}.sock`), '--workers', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const line = await new Promise<string | null>((resolve) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      void exited.then(() => resolve(null));
    });
    if (line === null) throw new Error('the unix bench worker did not start');
    const conn = await open({ unix: line.slice('UNIX:'.length) });
    return {
      conn,
      pid: child.pid!,
      stop: async () => {
        await conn.close();
        child.kill('SIGTERM');
        await exited;
      },
    };
  },
});

interface Result {
  producerMBs: number;
  /** Client + server CPU milliseconds per MiB produced. */
  producerCpuMs: number;
  echoPerS: number;
  exchangePerS: number;
  pointers: string;
}

/** Wall time each fresh pair of processes spends warming up its producer path before anything is timed. */
const WARM_MS = 2000;

/** The Bench service's Promise client over `conn`. */
const benchClient = (conn: RpcConnection) => Client.promises(Bench, conn);

/** Run producer streams of 500 batches of `rows` rows until WARM_MS have passed. */
const warmProducer = async (svc: ReturnType<typeof benchClient>, rows: number): Promise<void> => {
  const until = performance.now() + WARM_MS;
  while (performance.now() < until) for await (const _ of await svc.produce({ n_batches: 500n, rows: BigInt(rows) })) void _;
};

/** 1 MiB echo and exchange round trips timed per measure. */
const ROUND_TRIPS = 500;

const measure = async (lane: Lane, batches: number): Promise<Result> => {
  const { conn, pid, stop } = await lane.connect();
  try {
    const svc = benchClient(conn);
    // Warm up every path (both processes are fresh: the JIT needs thousands of turns).
    await warmProducer(svc, 65_536);
    const data = new Uint8Array(MiB).fill(7);
    for (let i = 0; i < 200; i++) await svc.echo_bytes({ data });
    const warm = await svc.double({ factor: 2 });
    for (let i = 0; i < 200; i++) await warm.exchange(Output.columns({ x: new Float64Array(MiB / 8) }));
    await warm.close();

    let t = performance.now();
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    const server0 = processTicks(pid);
    for await (const b of await svc.produce({ n_batches: BigInt(batches), rows: 65_536n })) bytes += b.numRows * 16;
    const producerMBs = bytes / MiB / ((performance.now() - t) / 1000);
    const client = process.cpuUsage(cpu0);
    const cpuMs = (client.user + client.system) / 1000 + ((processTicks(pid) - server0) * 1000) / CLK_TCK;
    const producerCpuMs = cpuMs / (bytes / MiB);

    t = performance.now();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const r = await svc.echo_bytes({ data });
      if (r.byteLength !== MiB) throw new Error('echo_bytes returned the wrong size');
    }
    const echoPerS = ROUND_TRIPS / ((performance.now() - t) / 1000);

    const x = Float64Array.from({ length: MiB / 8 }, (_, i) => i);
    const session = await svc.double({ factor: 2 });
    t = performance.now();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const out = await session.exchange(Output.columns({ x }));
      if (out.numRows !== x.length) throw new Error('double returned the wrong size');
    }
    const exchangePerS = ROUND_TRIPS / ((performance.now() - t) / 1000);
    await session.close();
    const counts = conn.segment?.channel.counts;
    return { producerMBs, producerCpuMs, echoPerS, exchangePerS, pointers: counts === undefined ? '-' : `${counts.written}/${counts.resolved}` };
  } finally {
    await stop();
  }
};

/** Producer MB/s of one lane at `rows` rows per batch (16 bytes a row), after a WARM_MS warm-up. */
const producerAt = async (lane: Lane, rows: number, batches: number): Promise<number> => {
  const { conn, stop } = await lane.connect();
  try {
    const svc = benchClient(conn);
    await warmProducer(svc, rows);
    const t = performance.now();
    let bytes = 0;
    for await (const b of await svc.produce({ n_batches: BigInt(batches), rows: BigInt(rows) })) bytes += b.numRows * 16;
    return bytes / MiB / ((performance.now() - t) / 1000);
  } finally {
    await stop();
  }
};

/** Batch sizes of the producer sweep, MiB (a 64 MiB segment holds several of the largest). */
const SWEEP_MIB = [0.25, 1, 4] as const;

/** memcpy MB/s of 1 MiB copies: within the cache (one buffer reused) and from memory (a 64 MiB source walked through). */
const memcpyMBs = (): { cached: number; memory: number } => {
  const dst = new Uint8Array(MiB);
  const small = new Uint8Array(MiB).fill(1);
  const big = new Uint8Array(64 * MiB).fill(1);
  const run = (n: number, src: (i: number) => Uint8Array): number => {
    for (let i = 0; i < 64; i++) dst.set(src(i));
    const t = performance.now();
    for (let i = 0; i < n; i++) dst.set(src(i));
    return n / ((performance.now() - t) / 1000);
  };
  return { cached: run(2000, () => small), memory: run(640, (i) => big.subarray((i % 64) * MiB, (i % 64 + 1) * MiB)) };
};

const arg = (flag: string, fallback: number): number => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};

/** What the shm part measured: each lane's best round, the memcpy floor and the load average around the run. */
export interface ShmResults {
  readonly lanes: Record<string, Result>;
  readonly memcpy_mb_per_s: { readonly cached: number; readonly memory: number };
  /** Producer MB/s by batch size, pipe and zero-copy shm. */
  readonly sweep: readonly { readonly mib: number; readonly pipe: number; readonly zeroCopy: number }[];
  readonly load_before: number;
  readonly load_after: number;
}

/** Run the shm bench; progress goes to `log`. */
export const measureShm = async (log: (s: string) => void, rounds = 3, batches = 2000): Promise<{ table: string; results: ShmResults }> => {
  const load0 = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'vgi-bench-shm-'));
  const lanes = [stdio('pipe', { stdoutPipe: true }), stdio('socketpair', {}), unix(dir), stdio('shm-segment', { shm: 16 * MiB }), stdio('shm-zerocopy', { shm: 16 * MiB, zeroCopy: true })];
  const best = new Map<string, Result>();
  try {
    for (let r = 0; r < rounds; r++) {
      log(`shm: round ${r + 1}/${rounds}, lanes ${lanes.map((l) => l.name).join(', ')} (${batches} batches of 1 MiB each)`);
      for (const lane of lanes) {
        const got = await measure(lane, batches);
        const prev = best.get(lane.name);
        best.set(lane.name, prev === undefined ? got : {
          producerMBs: Math.max(prev.producerMBs, got.producerMBs),
          producerCpuMs: Math.min(prev.producerCpuMs, got.producerCpuMs),
          echoPerS: Math.max(prev.echoPerS, got.echoPerS),
          exchangePerS: Math.max(prev.exchangePerS, got.exchangePerS),
          pointers: got.pointers,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Where the per-batch cost stops mattering: the producer at other batch sizes, pipe against zero-copy shm.
  const sweepLanes = [stdio('pipe', { stdoutPipe: true }), stdio('shm-zerocopy', { shm: 64 * MiB, zeroCopy: true })];
  const sweep: { mib: number; pipe: number; zeroCopy: number }[] = [];
  for (const mib of SWEEP_MIB) {
    const rows = (mib * MiB) / 16;
    const n = Math.max(50, Math.round(batches / mib));
    log(`shm: producer sweep, ${mib} MiB batches (${WARM_MS} ms warm-up, ${n} measured)`);
    const [pipeMBs, zeroMBs] = [await producerAt(sweepLanes[0]!, rows, n), await producerAt(sweepLanes[1]!, rows, n)];
    sweep.push({ mib, pipe: pipeMBs, zeroCopy: zeroMBs });
  }
  const floor = memcpyMBs();
  const load1 = loadavg()[0]!;
  const pipe = best.get('pipe')!;
  const lines = [
    `shm (bench/shm.ts): best of ${rounds} rounds, ${batches} batches of 1 MiB per measure after a ${WARM_MS} ms producer warm-up in each fresh pair of processes; memcpy of 1 MiB: ${floor.cached.toFixed(0)} MB/s in cache, ${floor.memory.toFixed(0)} MB/s from memory (the floor used below); load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after`,
    'lane          producer MB/s  vs pipe  % memcpy  CPU ms/MiB  vs pipe   echo 1MiB/s  exchange 1MiB/s  pointers (client wrote/resolved)',
  ];
  for (const [name, r] of best) {
    lines.push(`${name.padEnd(13)} ${r.producerMBs.toFixed(0).padStart(13)}  ${(r.producerMBs / pipe.producerMBs).toFixed(2).padStart(6)}x  ${((100 * r.producerMBs) / floor.memory).toFixed(1).padStart(7)}%  ${r.producerCpuMs.toFixed(3).padStart(10)}  ${(pipe.producerCpuMs / r.producerCpuMs).toFixed(2).padStart(6)}x  ${r.echoPerS.toFixed(0).padStart(11)}  ${r.exchangePerS.toFixed(0).padStart(15)}  ${r.pointers}`);
  }
  lines.push(`producer by batch size (one round each, ${WARM_MS} ms warm-up; segment 64 MiB): MiB per batch, pipe MB/s, shm-zerocopy MB/s, zero-copy vs pipe, zero-copy % of memcpy`);
  for (const w of sweep) {
    lines.push(`  ${String(w.mib).padStart(5)}  ${w.pipe.toFixed(0).padStart(7)}  ${w.zeroCopy.toFixed(0).padStart(7)}  ${(w.zeroCopy / w.pipe).toFixed(2).padStart(5)}x  ${((100 * w.zeroCopy) / floor.memory).toFixed(1).padStart(5)}%`);
  }
  return { table: lines.join('\n'), results: { lanes: Object.fromEntries(best), sweep, memcpy_mb_per_s: floor, load_before: load0, load_after: load1 } };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { table, results } = await measureShm((s) => process.stderr.write(`${s}\n`), arg('--rounds', 3), arg('--batches', 2000));
  process.stdout.write(`${table}\n${JSON.stringify(results)}\n`);
}
