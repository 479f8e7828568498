/**
 * Our side of the stdio benchmark: our client against our Bench worker
 * (`node dist/examples/bench/worker.js --stdio`), the same workloads the
 * peer benchmark runs. Each workload runs in a process of its own against a
 * fresh server (`node dist/bench/ours.js <workload>` prints its JSON), so no
 * workload inherits another's heap state; the peer's workloads are run the
 * same way (bench/peer-bench.mjs --only <workload>).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, RpcConnection } from '../src/index.js';
import { spawnServer } from '../transports/pipe/subprocess-client.js';
import { Bench } from '../examples/bench/bench-service.js';
import { median, percentile } from './stats.js';

/** One implementation's stdio numbers. */
export interface StdioResult {
  readonly unary_seq_calls_per_s: number;
  readonly unary_p50_us: number;
  readonly unary_p99_us: number;
  readonly unary_pipelined_calls_per_s: number;
  readonly producer_mb_per_s: number;
  readonly exchange_round_trips_per_s: number;
}

/** The workloads, each measured in its own process. */
export const WORKLOADS = ['unary', 'producer', 'exchange'] as const;
/** One workload's name. */
export type Workload = (typeof WORKLOADS)[number] | 'producer-after-unary';

const WORKER = fileURLToPath(new URL('../examples/bench/worker.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

type BenchClient = Client.PromiseClient<typeof Bench.methods>;

const sequential = async (bench: BenchClient, log: (s: string) => void): Promise<Partial<StdioResult>> => {
  log('ours: unary add, sequential (2,000 warm-up calls, then 3 s)');
  for (let i = 0; i < 2000; i++) await bench.add({ a: i, b: 1 });
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    const s = performance.now();
    await bench.add({ a: 1, b: 2 });
    lat.push((performance.now() - s) * 1000);
  }
  return { unary_seq_calls_per_s: lat.length / ((performance.now() - t0) / 1000), unary_p50_us: percentile(lat, 50), unary_p99_us: percentile(lat, 99) };
};

const pipelined = async (bench: BenchClient, log: (s: string) => void): Promise<Partial<StdioResult>> => {
  log('ours: unary add, 64 requests in flight on one connection (3 s)');
  const t0 = performance.now();
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() - t0 < 3000) {
      await bench.add({ a: 1, b: 2 });
      done++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return { unary_pipelined_calls_per_s: done / ((performance.now() - t0) / 1000) };
};

const producer = async (bench: BenchClient, log: (s: string) => void): Promise<Partial<StdioResult>> => {
  log('ours: producer 100 batches x 100,000 rows {i: int64, x: float64} (2 warm-up runs, median of 5)');
  const mbs: number[] = [];
  for (let run = 0; run < 7; run++) {
    const s = performance.now();
    const stream = await bench.produce({ n_batches: 100n, rows: 100_000n });
    let rows = 0;
    for await (const b of stream) rows += b.numRows;
    if (rows !== 10_000_000) throw new Error(`producer returned ${rows} rows`);
    if (run >= 2) mbs.push((rows * 16) / ((performance.now() - s) / 1000) / 1e6);
  }
  return { producer_mb_per_s: median(mbs) };
};

const exchange = async (bench: BenchClient, log: (s: string) => void): Promise<Partial<StdioResult>> => {
  log('ours: exchange double(2.0), 100 rows per turn (500 warm-up turns, then 2 s)');
  const ex = await bench.double({ factor: 2 });
  const x = new Float64Array(100).map((_, i) => i);
  for (let i = 0; i < 500; i++) await ex.exchange({ _tag: 'columns', columns: { x }, metadata: undefined });
  const t0 = performance.now();
  let turns = 0;
  while (performance.now() - t0 < 2000) {
    const out = await ex.exchange({ _tag: 'columns', columns: { x }, metadata: undefined });
    if (out.numRows !== 100) throw new Error('exchange returned the wrong row count');
    turns++;
  }
  const rate = turns / ((performance.now() - t0) / 1000);
  await ex.close();
  return { exchange_round_trips_per_s: rate };
};

/** Run one workload in this process against a fresh server. */
export const runWorkload = async (workload: Workload, log: (s: string) => void): Promise<Partial<StdioResult>> => {
  const conn = new RpcConnection(await spawnServer(process.execPath, [WORKER, '--stdio']));
  const bench = Client.promises(Bench, conn);
  try {
    switch (workload) {
      case 'unary':
        return { ...(await sequential(bench, log)), ...(await pipelined(bench, log)) };
      case 'producer':
        return await producer(bench, log);
      case 'producer-after-unary':
        log('ours: 30,000 sequential unary calls first, on the same connection');
        for (let i = 0; i < 30_000; i++) await bench.add({ a: i, b: 1 });
        return await producer(bench, log);
      case 'exchange':
        return await exchange(bench, log);
    }
  } finally {
    await conn.close();
  }
};

/** Run `node script args...` and parse the JSON on the last line of its stdout. */
export const jsonFromProcess = <T>(script: string, args: readonly string[]): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch (e) {
        reject(e as Error);
      }
    });
  });

/** Run `node script argsOf(workload)` for each workload in turn, one process each, and collect their JSON. */
export const workloadParts = async <T>(script: string, argsOf: (w: Workload) => readonly string[]): Promise<Partial<T>[]> => {
  const parts: Partial<T>[] = [];
  for (const w of WORKLOADS) parts.push(await jsonFromProcess<Partial<T>>(script, argsOf(w)));
  return parts;
};

/** Measure our client and server over stdio, each workload in a fresh process. */
export const measureOurs = async (): Promise<StdioResult> =>
  Object.assign({}, ...(await workloadParts<StdioResult>(SELF, (w) => [w]))) as StdioResult;

/** Our producer after 30,000 unary calls in the same client process (reported beside the isolated number). */
export const measureProducerAfterUnary = async (): Promise<number> =>
  (await jsonFromProcess<Partial<StdioResult>>(SELF, ['producer-after-unary'])).producer_mb_per_s!;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const workload = process.argv[2] as Workload;
  const result = await runWorkload(workload, (s) => process.stderr.write(`${s}\n`));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
