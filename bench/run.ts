/**
 * `npm run bench`, in three parts, each printing what it measured and how:
 *
 * 1. stdio: our runtime and the peer (@query-farm/vgi-rpc 0.25.4), with the
 *    machine's floor, as a table of ratios;
 * 2. unix socket: unary calls/s with 32 concurrent connections against our
 *    server with pools of 0, 1 and 2 worker threads and against the peer's
 *    unix server, with each server's CPU use (bench/unix.ts);
 * 3. bytes copied and transferred per call through a worker (bench/copies.ts).
 *
 * Progress goes to stderr; the tables go to stdout, and everything as JSON
 * on the last line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measureStdioFloor } from './floor.js';
import { measureOurs, type StdioResult } from './ours.js';
import { measureUnix } from './unix.js';
import { measureCopies } from './copies.js';

const log = (s: string): void => { process.stderr.write(`${s}\n`); };

const PEER_BENCH = fileURLToPath(new URL('../../bench/peer-bench.mjs', import.meta.url));

const measurePeer = (): Promise<StdioResult & { extra?: Record<string, number> }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PEER_BENCH], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`peer benchmark exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as StdioResult);
      } catch (e) {
        reject(e as Error);
      }
    });
  });

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Best of several rounds, per metric (highest rate, lowest latency). */
const best = (runs: readonly StdioResult[]): StdioResult => ({
  unary_seq_calls_per_s: Math.max(...runs.map((r) => r.unary_seq_calls_per_s)),
  unary_p50_us: Math.min(...runs.map((r) => r.unary_p50_us)),
  unary_p99_us: Math.min(...runs.map((r) => r.unary_p99_us)),
  unary_pipelined_calls_per_s: Math.max(...runs.map((r) => r.unary_pipelined_calls_per_s)),
  producer_mb_per_s: Math.max(...runs.map((r) => r.producer_mb_per_s)),
  exchange_round_trips_per_s: Math.max(...runs.map((r) => r.exchange_round_trips_per_s)),
});

/** Rounds of the stdio part: this shared machine's speed drifts, so floor, ours and the peer are interleaved and each gets its best round. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

const main = async (): Promise<void> => {
  const floors: number[] = [];
  const ourRuns: StdioResult[] = [];
  const peerRuns: (StdioResult & { extra?: Record<string, number> })[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    log(`stdio round ${round}/${ROUNDS}`);
    log('floor: bare stdio echo between two Node processes, 200-byte messages, sequential (2 s)');
    floors.push(await measureStdioFloor());
    ourRuns.push(await measureOurs(log));
    log('peer: bench/peer-bench.mjs (its client against its server, same workloads)');
    peerRuns.push(await measurePeer());
  }
  const floor = Math.max(...floors);
  const ours = best(ourRuns);
  const peer = { ...best(peerRuns), extra: peerRuns.at(-1)?.extra };
  const rows: [string, number, number, string][] = [
    ['unary add, sequential calls/s', ours.unary_seq_calls_per_s, peer.unary_seq_calls_per_s, 'x'],
    ['unary add, 64 in flight, calls/s', ours.unary_pipelined_calls_per_s, peer.unary_pipelined_calls_per_s, 'x'],
    ['producer 100 x 100k rows, MB/s', ours.producer_mb_per_s, peer.producer_mb_per_s, 'x'],
    ['exchange 100 rows/turn, round trips/s', ours.exchange_round_trips_per_s, peer.exchange_round_trips_per_s, 'x'],
    ['unary p50 latency, us (lower is better)', ours.unary_p50_us, peer.unary_p50_us, '/'],
    ['unary p99 latency, us (lower is better)', ours.unary_p99_us, peer.unary_p99_us, '/'],
  ];
  const lines = [
    `stdio (one connection; our client and server vs the peer's client and server; best of ${ROUNDS} interleaved rounds each)`,
    `machine floor (bare stdio echo): ${fmt(floor)} round trips/s; our sequential unary is ${fmt((ours.unary_seq_calls_per_s / floor) * 100, 1)}% of it`,
    '',
    `${'measurement'.padEnd(42)} ${'ours'.padStart(12)} ${'peer'.padStart(12)} ${'ratio'.padStart(8)}`,
    ...rows.map(([name, o, p, kind]) => `${name.padEnd(42)} ${fmt(o).padStart(12)} ${fmt(p).padStart(12)} ${fmt(kind === 'x' ? o / p : p / o, 1).padStart(7)}x`),
  ];
  const peerExtra = (peer as { extra?: Record<string, unknown> }).extra;
  if (peerExtra !== undefined) lines.push('', `peer extra (its server driven without its client): ${JSON.stringify(peerExtra)}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
  const unix = await measureUnix(log);
  process.stdout.write(`${unix.table}\n\n`);
  const copies = await measureCopies(log);
  process.stdout.write(`${copies.table}\n`);
  process.stdout.write(`${JSON.stringify({ floor_round_trips_per_s: floor, ours, peer, unix: unix.results, copies: copies.results })}\n`);
};

await main();
