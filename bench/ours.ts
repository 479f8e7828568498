/**
 * Our side of the stdio benchmark: our client against our Bench worker
 * (`node dist/examples/bench/worker.js --stdio`), the same workloads the
 * peer benchmark runs.
 */
import { fileURLToPath } from 'node:url';
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

const WORKER = fileURLToPath(new URL('../examples/bench/worker.js', import.meta.url));

/** Measure our client and server over stdio. */
export const measureOurs = async (log: (s: string) => void): Promise<StdioResult> => {
  const transport = spawnServer(process.execPath, [WORKER, '--stdio']);
  const conn = new RpcConnection(transport);
  const bench = Client.promises(Bench, conn);

  log('ours: unary add, sequential (2,000 warm-up calls, then 3 s)');
  for (let i = 0; i < 2000; i++) await bench.add({ a: i, b: 1 });
  const lat: number[] = [];
  let t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    const s = performance.now();
    await bench.add({ a: 1, b: 2 });
    lat.push((performance.now() - s) * 1000);
  }
  const seq = lat.length / ((performance.now() - t0) / 1000);

  log('ours: unary add, 64 requests in flight on one connection (3 s)');
  t0 = performance.now();
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() - t0 < 3000) {
      await bench.add({ a: 1, b: 2 });
      done++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const pipelined = done / ((performance.now() - t0) / 1000);

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

  log('ours: exchange double(2.0), 100 rows per turn (2 s)');
  const ex = await bench.double({ factor: 2 });
  const x = new Float64Array(100).map((_, i) => i);
  for (let i = 0; i < 500; i++) await ex.exchange({ _tag: 'columns', columns: { x }, metadata: undefined });
  t0 = performance.now();
  let turns = 0;
  while (performance.now() - t0 < 2000) {
    const out = await ex.exchange({ _tag: 'columns', columns: { x }, metadata: undefined });
    if (out.numRows !== 100) throw new Error('exchange returned the wrong row count');
    turns++;
  }
  const exchange = turns / ((performance.now() - t0) / 1000);
  await ex.close();
  await conn.close();
  return {
    unary_seq_calls_per_s: seq,
    unary_p50_us: percentile(lat, 50),
    unary_p99_us: percentile(lat, 99),
    unary_pipelined_calls_per_s: pipelined,
    producer_mb_per_s: median(mbs),
    exchange_round_trips_per_s: exchange,
  };
};
