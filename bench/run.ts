/**
 * `npm run bench`, in three parts, each printing what it measured and how:
 *
 * 1. stdio: our runtime and the peer (@query-farm/vgi-rpc 0.25.4), with the
 *    machine's floor, as a table of ratios (each workload of each side in
 *    a client process of its own, against a fresh server);
 * 2. unix socket: unary calls/s with 32 concurrent connections against our
 *    server with pools of 0, 1 and 2 worker threads and against the peer's
 *    unix server, with each server's CPU use (bench/unix.ts);
 * 3. bytes copied and transferred per call through a worker (bench/copies.ts);
 * 4. start-up: spawn to first answer, ours with 0/1/2 workers beside the
 *    peer, and to the discovery line with 2 workers (bench/startup.ts);
 * 5. the HTTP floor: bare POST echo requests/s of the uWebSockets.js and
 *    node:http engines under wrk, with server and wrk CPU (bench/http-echo.ts);
 * 6. HTTP RPC: unary calls/s under wrk (ours with 2/1/0 workers, each
 *    listening by default, with 2 workers behind the main thread's front
 *    end and that over the SAB hop, the peer's HTTP handler,
 *    the uWS echo floor), producer MB/s (plain and compressed)
 *    and exchange round trips/s, ours vs the peer, and where our server's CPU
 *    per unary call goes, from a CPU profile (bench/http-rpc.ts);
 * 7. sticky sessions over HTTP (optional, part name `sticky`): 100,000 open
 *    sessions over 2 workers, memory per idle session, resume latency
 *    p50/p99 under 64 connections (wrk rotating session tokens; at light
 *    load also the paced C client bench/http-paced.c) and what reaping
 *    100,000 expired sessions costs requests (bench/sticky-http.ts);
 * 8. shared memory (optional, part name `shm`): producer MB/s, 1 MiB
 *    echo_bytes and exchange round trips over pipe, socketpair, unix and a
 *    client segment (copying and zero-copy), each pair of processes warmed
 *    up for 2 s first, with memcpy as the floor (bench/shm.ts).
 *
 * Progress goes to stderr; the tables go to stdout, and everything as JSON
 * on the last line.
 */
import { fileURLToPath } from 'node:url';
import { measureStdioFloor } from './floor.js';
import { median } from './stats.js';
import { measureOurs, measureProducerAfterUnary, type StdioResult, workloadParts } from './ours.js';
import { measureUnix } from './unix.js';
import { measureCopies } from './copies.js';
import { measureStartup } from './startup.js';
import { measureHttpEcho } from './http-echo.js';
import { measureHttpRpc } from './http-rpc.js';
import { measureStickyHttp } from './sticky-http.js';
import { measureShm } from './shm.js';

const log = (s: string): void => { process.stderr.write(`${s}\n`); };

const PEER_BENCH = fileURLToPath(new URL('../../bench/peer-bench.mjs', import.meta.url));

type PeerResult = StdioResult & { extra?: Record<string, unknown> };

/** The peer's numbers: each workload in its own process against a fresh server, as for ours. */
const measurePeer = async (): Promise<PeerResult> => {
  const parts = await workloadParts<PeerResult>(PEER_BENCH, (w) => ['--only', w]);
  return { ...(Object.assign({}, ...parts) as StdioResult), extra: Object.assign({}, ...parts.map((p) => p.extra)) as Record<string, unknown> };
};

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

/**
 * The peer's stdio figures as ../shared/peer-baseline.md records them (Node
 * 20.20, 2-core machine, medians of 4 runs); the issue's targets cite them.
 * Its client cannot pipeline, so its pipelined figure is its sequential one.
 */
const PEER_BASELINE: StdioResult = {
  unary_seq_calls_per_s: 1126,
  unary_p50_us: 600,
  unary_p99_us: 5900,
  unary_pipelined_calls_per_s: 1126,
  producer_mb_per_s: 599,
  exchange_round_trips_per_s: 2793,
};

/** Rounds of the stdio part: this shared machine's speed drifts, so floor, ours and the peer are interleaved; each side gets its best round, and our sequential rate is compared with the floor of the same round. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Which parts run after the stdio part: BENCH_PARTS=unix,copies,startup,http,http-rpc (the default; `BENCH_PARTS=` runs the stdio part alone; `sticky` is optional, about 3 minutes; `shm` is optional, about two minutes). */
const PARTS = (process.env.BENCH_PARTS ?? 'unix,copies,startup,http,http-rpc').split(',');

const main = async (): Promise<void> => {
  const floors: number[] = [];
  const ourRuns: StdioResult[] = [];
  const peerRuns: PeerResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    log(`stdio round ${round}/${ROUNDS}`);
    log('floor: bare stdio echo between two Node processes, 200-byte messages, sequential (2 s)');
    floors.push(await measureStdioFloor());
    log('ours: bench/ours.ts, each workload in its own process against a fresh server');
    ourRuns.push(await measureOurs());
    log('peer: bench/peer-bench.mjs (its client against its server, same workloads, same process layout)');
    peerRuns.push(await measurePeer());
  }
  const floor = median(floors);
  const pcts = ourRuns.map((o, i) => (o.unary_seq_calls_per_s / floors[i]!) * 100);
  const ours = best(ourRuns);
  const peer = { ...best(peerRuns), extra: peerRuns.at(-1)?.extra };
  const rows: [string, keyof StdioResult, 'x' | '/'][] = [
    ['unary add, sequential calls/s', 'unary_seq_calls_per_s', 'x'],
    ['unary add, 64 in flight, calls/s', 'unary_pipelined_calls_per_s', 'x'],
    ['producer 100 x 100k rows, MB/s', 'producer_mb_per_s', 'x'],
    ['exchange 100 rows/turn, round trips/s', 'exchange_round_trips_per_s', 'x'],
    ['unary p50 latency, us (lower is better)', 'unary_p50_us', '/'],
    ['unary p99 latency, us (lower is better)', 'unary_p99_us', '/'],
  ];
  const ratio = (o: number, p: number, kind: 'x' | '/'): string => `${fmt(kind === 'x' ? o / p : p / o, 1)}x`;
  const lines = [
    `stdio (one connection; our client and server vs the peer's client and server; best of ${ROUNDS} interleaved rounds each)`,
    `machine floor (bare stdio echo) per round: ${floors.map((f) => fmt(f)).join(' / ')} round trips/s (median ${fmt(floor)}); ` +
      `our sequential unary per round: ${ourRuns.map((o) => fmt(o.unary_seq_calls_per_s)).join(' / ')}, i.e. ${pcts.map((x) => `${fmt(x, 1)}%`).join(' / ')} of the floor measured in the same round (median ${fmt(median(pcts), 1)}%)`,
    '',
    `${'measurement'.padEnd(42)} ${'ours'.padStart(12)} ${'peer'.padStart(12)} ${'ratio'.padStart(8)} ${'vs peer-baseline.md'.padStart(20)}`,
    ...rows.map(([name, key, kind]) =>
      `${name.padEnd(42)} ${fmt(ours[key]).padStart(12)} ${fmt(peer[key]).padStart(12)} ${ratio(ours[key], peer[key], kind).padStart(8)} ${`${ratio(ours[key], PEER_BASELINE[key], kind)} of ${fmt(PEER_BASELINE[key])}`.padStart(20)}`),
    `("ratio" is against the peer measured in this run; the last column against the figures ../shared/peer-baseline.md records, which the targets cite. ` +
      `In this run the bare echo floor (median) itself is ${fmt(floor / peer.unary_seq_calls_per_s, 1)}x the peer's best sequential rate, the most any sequential stdio client could reach.)`,
  ];
  log('ours: producer again, after 30,000 unary calls in the same client process');
  const producerAfterUnary = await measureProducerAfterUnary();
  lines.push(
    '',
    `each workload runs in its own client process against a fresh server, for both. Our producer after 30,000 unary calls in the same client process: ${fmt(producerAfterUnary)} MB/s ` +
      '(a client heap whose young generation the unary calls grew makes V8 mark the old generation after every scavenge; see the README)',
  );
  const peerExtra = (peer as { extra?: Record<string, unknown> }).extra;
  if (peerExtra !== undefined) lines.push('', `peer extra (its server driven without its client): ${JSON.stringify(peerExtra)}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
  const unix = PARTS.includes('unix') ? await measureUnix(log) : undefined;
  if (unix !== undefined) process.stdout.write(`${unix.table}\n\n`);
  const copies = PARTS.includes('copies') ? await measureCopies(log) : undefined;
  if (copies !== undefined) process.stdout.write(`${copies.table}\n`);
  const startup = PARTS.includes('startup') ? await measureStartup(log) : undefined;
  if (startup !== undefined) process.stdout.write(`\n${startup.table}\n`);
  const http = PARTS.includes('http') ? await measureHttpEcho(log) : undefined;
  if (http !== undefined) process.stdout.write(`\n${http.table}\n`);
  const httpRpc = PARTS.includes('http-rpc') ? await measureHttpRpc(log) : undefined;
  if (httpRpc !== undefined) process.stdout.write(`\n${httpRpc.table}\n`);
  const sticky = PARTS.includes('sticky') ? await measureStickyHttp(log) : undefined;
  if (sticky !== undefined) process.stdout.write(`\n${sticky.table}\n`);
  const shm = PARTS.includes('shm') ? await measureShm(log) : undefined;
  if (shm !== undefined) process.stdout.write(`\n${shm.table}\n`);
  process.stdout.write(`${JSON.stringify({ floor_round_trips_per_s: floors, ours_seq_percent_of_floor: pcts, ours, ours_producer_after_unary_mb_per_s: producerAfterUnary, peer, unix: unix?.results, copies: copies?.results, startup: startup?.results, http_echo: http?.results, http_rpc: httpRpc?.results, sticky_http: sticky?.results, shm: shm?.results })}\n`);
};

await main();
