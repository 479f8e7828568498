/**
 * Sticky sessions over HTTP at scale (issue 11's bench), against one server
 * process with 2 worker threads (bench/sticky-server.ts, run with node
 * --expose-gc so the probes can force full GCs):
 *
 * 1. memory: 100,000 sessions opened (each holding a one-field counter)
 *    from 64 keep-alive connections (bench/raw-http.ts: our wire code
 *    encodes the request; each answer is checked for 200, no
 *    `X-VGI-RPC-Error` and a `VGI-Session` token). The V8 heap in use after
 *    full GCs, of each worker (read through a session the bench holds on
 *    it) and of the main thread (the front end's token -> worker table),
 *    before and after, gives the bytes per idle session of the whole server
 *    beside the process's RSS growth; sessions per GiB follow.
 * 2. resume latency: wrk (/usr/bin/wrk), 2 threads and 64 keep-alive
 *    connections, POSTs `touch` (a unary call bumping the session's
 *    counter) with a different session's `VGI-Session` token on every
 *    request (a Lua script rotates the 100,000 tokens) and checks every
 *    answer (200, no `X-VGI-RPC-Error`). Saturated: as fast as the
 *    connections go, so the latency includes queueing (64 in flight: the
 *    mean is 64 / calls per second); paced: each connection waits
 *    `pacedDelayMs` between calls (wrk's `delay()`), so the latency is the
 *    server's answer time at a third or so of its capacity; light: the same
 *    with `lightDelayMs` (about 1,300 calls/s), far below capacity, where
 *    the answer time is the server's own and not queueing behind other
 *    requests; and the bare uWS echo under the same light load, the floor of
 *    those latencies (wrk's paced mode adds its own). The same three light
 *    loads are then measured by bench/http-paced.c (compiled with `cc` for
 *    the run), an open-loop C client that sends `pacedRate` calls/s spread
 *    over the 64 connections on nanosecond timers and times each answer from
 *    when it was due and from when it was written, and a fourth: each
 *    connection opens 16 sessions of its own and resumes only those, as a
 *    client keeping its session on its connection does (the worker that
 *    accepted the connection holds them: no resume crosses to another
 *    worker, where the rotated tokens cross for about half the calls); and
 *    a fifth, the floor of a resume that crosses threads
 *    (bench/http-hop-floor.ts: the bare echo on two threads sharing the
 *    port, each rotated token's request echoed by the thread it names,
 *    about half of them over a MessagePort and back, no vgi-rpc code). These
 *    five run in `pacedRounds` rounds (default 3), each round running every
 *    row once in turn, so that one stall of the machine lands in one round
 *    of one row; each row reports its median round by p99, and every
 *    round's p99 is printed. Each of the server's runs starts after full
 *    GCs in its threads, as the reaping windows do (the garbage of the
 *    saturated runs before them is not theirs). Beside each run, the
 *    server threads' run-queue wait (from
 *    /proc schedstat) shows how long they were runnable without a core:
 *    on a 2-core machine shared with wrk that, not the code, sets the
 *    tail. Each run: a
 *    warm-up, then a measured run with wrk's CPU (/usr/bin/time), the
 *    server's (/proc/<pid>/stat) and the rest of the machine's (/proc/stat).
 *    The same saturated load on `ping` (no session) shows what the session
 *    costs.
 * 3. reaping: a fresh server; 1,000 long-lived sessions, then 100,000 more
 *    opened with one common expiry instant. Paced resumes of the long-lived
 *    ones run from before that instant until 3 s after it (the worker
 *    reapers and the front end's sweep each run within a second of it),
 *    while every thread watches its event loop (the worst lateness of a 1 ms
 *    timer); the expired sessions must all be released (the workers count
 *    their states' close()). Then the control: the same again, 100,000
 *    sessions opened the same way but expiring only after the window, so
 *    the control has the reaping window's history (the opening burst, full
 *    GCs in every thread, the idle wait) and differs only in that nothing
 *    expires; it shows the machine's own noise and the aftermath of the
 *    burst. Each window follows one unmeasured second of the same load
 *    (the first collection after the idle wait, which gives back the young
 *    generation the burst grew, falls there). This runs in `reapRounds`
 *    rounds (default 3), each a reaping window and its control; the median
 *    round by the reaping window's worst worker stall is shown, and every
 *    round's worst stalls are printed. With a C compiler
 *    the windows' resumes come from the paced C client (`pacedRate`/s, every
 *    answer timed), else from wrk's paced mode.
 *
 * Standalone: node dist/bench/sticky-http.js [--sessions N] [--only memory,resume,reap] [--rounds R] [--reap-rounds R]
 *   [--server-flags '--trace-gc-nvp ...'] [--server-trace FILE]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, httpConnect } from '../src/index.js';
import { encodeRequest } from '../src/client/connection.js';
import type { HttpConnection } from '../src/client/http/http-connection.js';
import type { PromiseClient } from '../src/client/typed-client.js';
import { RawHttpConnection } from './raw-http.js';
import { startEchoServer } from './http-echo.js';
import { startHopFloor } from './http-hop-floor.js';
import { type StallSummary, StickyBench } from './sticky-service.js';
import { CHECK_ANSWERS_LUA, type WrkLoad, type WrkRun, measuredRun, warmUp, wrkMissing } from './wrk.js';
import { type PacedLoad, type PacedResult, pacedRun } from './http-paced.js';
import { compileTool } from './native-tool.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SERVER = join(HERE, 'sticky-server.js');
const PEER_SERVER = join(HERE, '../../bench/peer-http-server.mjs');
const ARROW = 'application/vnd.apache.arrow.stream';

/** How the bench is shaped. */
export interface StickyHttpOptions {
  readonly sessions: number;
  readonly workers: number;
  readonly connections: number;
  readonly threads: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Each connection's pause between paced calls, ms. */
  readonly pacedDelayMs: number;
  /** Each connection's pause in the light run (well below capacity), ms. */
  readonly lightDelayMs: number;
  /** Long-lived sessions resumed while the others are reaped. */
  readonly reapLoadSessions: number;
  /** Requests per second of the paced C client (bench/http-paced.c) in the light runs and the reaping window. */
  readonly pacedRate: number;
  /** Rounds of the paced C client's light runs (each round runs every row once, in turn); each row reports its median round by p99. */
  readonly pacedRounds: number;
  /** Rounds of the reaping part (each: 100,000 sessions opened to expire together, the reaping window, the control). */
  readonly reapRounds: number;
  readonly parts: readonly ('memory' | 'resume' | 'reap' | 'peer')[];
  /** Sessions the peer's server holds for its memory and resume measurements (it opens them at about 1,000/s here). */
  readonly peerSessions: number;
  /** Node/V8 flags for the server process (e.g. `--trace-gc-nvp`), after `--expose-gc`. */
  readonly serverFlags?: readonly string[];
  /**
   * A file that receives every line the server prints beyond the bench's
   * own (V8's traces), each with the ms since the server started, and the
   * bench's commands (`>>> arm`, `>>> stall`: the windows' edges). The
   * server then runs under `stdbuf -o0`, so that V8's output, block-buffered
   * on a pipe, is not lost when the server is killed.
   */
  readonly serverTrace?: string;
}

/** Sessions each connection of the own-connection light run opens and then resumes in turn. */
const OWN_SESSIONS = 16;

const DEFAULTS: StickyHttpOptions = {
  sessions: 100_000, workers: 2, connections: 64, threads: 2, warmupSeconds: 2, seconds: 5,
  pacedDelayMs: 5, lightDelayMs: 50, reapLoadSessions: 1_000, pacedRate: 2_000, pacedRounds: 3, reapRounds: 3, parts: ['memory', 'resume', 'reap', 'peer'], peerSessions: 20_000,
};

/** The paced runs of one row over the rounds: the round with the median p99 stands for the row; every round's p99 is kept. */
export type PacedRows = PacedResult & { readonly p99_rounds_us: readonly number[] };

/** The median round of `runs` by p99, with every round's p99. */
const medianByP99 = (runs: readonly PacedResult[]): PacedRows => {
  const sorted = [...runs].sort((a, b) => a.p99_us - b.p99_us);
  return { ...sorted[(sorted.length - 1) >> 1]!, p99_rounds_us: runs.map((r) => r.p99_us) };
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

/** The bench server process: its port, and the main thread's answers to stdin commands. */
class BenchServer {
  private readonly waiting: { prefix: string; resolve: (v: string) => void }[] = [];

  private constructor(readonly child: ChildProcess, readonly port: number, lines: ReturnType<typeof createInterface>) {
    lines.on('line', (line: string) => {
      const i = this.waiting.findIndex((w) => line.startsWith(w.prefix));
      if (i < 0) return;
      const w = this.waiting.splice(i, 1)[0]!;
      w.resolve(line.slice(w.prefix.length));
    });
  }

  /** A line for the trace file, if there is one. */
  private trace: ((line: string) => void) | undefined;

  static start(workers: number, flags: readonly string[] = [], traceFile?: string): Promise<BenchServer> {
    return BenchServer.spawn(['--expose-gc', ...flags, SERVER, String(workers), '3600'], traceFile);
  }

  /** The peer's server (bench/peer-http-server.mjs --sticky: one thread, node:http), which answers `heap` the same way. */
  static startPeer(): Promise<BenchServer> {
    return BenchServer.spawn(['--expose-gc', PEER_SERVER, '--sticky']);
  }

  private static spawn(args: readonly string[], traceFile?: string): Promise<BenchServer> {
    return new Promise((resolve, reject) => {
      const unbuffered = traceFile !== undefined && existsSync('/usr/bin/stdbuf');
      const child = unbuffered
        ? spawn('/usr/bin/stdbuf', ['-o0', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
        : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  server: ${line}\n`));
      const rl = createInterface({ input: child.stdout! });
      const t0 = performance.now();
      const trace = traceFile === undefined ? undefined : (line: string): void => appendFileSync(traceFile, `${(performance.now() - t0).toFixed(1)} ${line}\n`);
      if (trace !== undefined) rl.on('line', trace);
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the sticky bench server did not start')); }, 30_000);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the sticky bench server exited (${code}) before listening`)); });
      const first = (line: string): void => {
        const m = /^PORT:(\d+)$/.exec(line);
        if (m === null) return;
        clearTimeout(timer);
        rl.off('line', first);
        const server = new BenchServer(child, Number(m[1]), rl);
        server.trace = trace;
        resolve(server);
      };
      rl.on('line', first);
    });
  }

  /** Send a command line; resolves with what follows `prefix` in the answer. */
  ask(command: string, prefix: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push({ prefix, resolve: (v) => resolve(v) });
      this.trace?.(`>>> ${command}`);
      this.child.stdin!.write(`${command}\n`);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The process's resident set, bytes. */
  rss(): number {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'))?.[1];
    return Number(kb) * 1024;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** A session the bench holds on each worker, to reach that worker's probes. */
interface Probe {
  readonly thread: bigint;
  readonly api: PromiseClient<typeof StickyBench.methods>;
  readonly conn: HttpConnection;
}

/**
 * A fetch that opens a new connection for every request (node:http, no
 * agent): with every worker listening, the kernel gives each connection to
 * one of them, so fresh connections reach every worker where kept-alive
 * ones may all have landed on one.
 */
const freshConnectionFetch: typeof fetch = (input, init) => new Promise((resolve, reject) => {
  const body = init?.body;
  const req = httpRequest(String(input), { method: init?.method ?? 'GET', headers: Object.fromEntries(new Headers(init?.headers).entries()), agent: false }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const status = res.statusCode ?? 500;
      resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers }));
    });
  });
  req.on('error', reject);
  req.end(body === undefined || body === null ? undefined : Buffer.from(body as Uint8Array));
});

/** Open sessions until every worker holds one (each open on a fresh connection, which the kernel gives to one of the listening workers). */
const probeEachWorker = async (url: string, workers: number): Promise<Probe[]> => {
  const conn = await httpConnect(url, { retry: false, fetch: freshConnectionFetch });
  const probes = new Map<bigint, Probe>();
  for (let attempt = 0; attempt < 50 && probes.size < workers; attempt++) {
    const batch = await Promise.all(Array.from({ length: 4 }, async () => {
      const s = conn.withSession();
      const api = Client.promises(StickyBench, s);
      return { thread: await api.open({ expires_at_ms: 0n }), api, conn: s };
    }));
    for (const p of batch) if (!probes.has(p.thread)) probes.set(p.thread, p);
  }
  if (probes.size < workers) throw new Error(`sessions reached ${probes.size} of ${workers} workers`);
  return [...probes.values()];
};

/** The request body of `method` with `params`. */
export const bodyOf = (method: 'open' | 'touch' | 'ping', params: Record<string, unknown>): Buffer => {
  const parts: Uint8Array[] = [];
  encodeRequest(parts, { protocol: 'StickyBench', protocolVersion: undefined }, method, StickyBench.methods[method], params);
  return Buffer.concat(parts);
};

/** Open `n` sessions from `connections` keep-alive connections; their tokens, and the rate. */
export const openSessions = async (port: number, n: number, connections: number, expiresAtMs: number): Promise<{ tokens: string[]; perSecond: number }> => {
  const body = bodyOf('open', { expires_at_ms: BigInt(expiresAtMs) });
  const tokens: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    const c = new RawHttpConnection('127.0.0.1', port);
    try {
      while (next < n) {
        next++;
        const a = await c.post('/StickyBench/open', { 'Content-Type': ARROW, 'VGI-Session-Accept': 'true' }, [body]);
        const token = a.headers.get('vgi-session');
        if (a.status !== 200 || a.headers.has('x-vgi-rpc-error') || token === undefined) throw new Error(`open answered ${a.status}: ${a.body.toString('latin1').slice(0, 200)}`);
        tokens.push(token);
      }
    } finally {
      c.close();
    }
  }));
  return { tokens, perSecond: n / ((performance.now() - t0) / 1000) };
};

/**
 * A wrk Lua script POSTing `bodyFile` to `path`: with `tokensFile`, each
 * request carries the next token (each wrk thread starts at its own offset);
 * with `delayMs`, each connection waits that long between requests. Every
 * answer is checked; `CHECKED ok=N bad=M` is printed at the end.
 */
export const wrkScript = (path: string, bodyFile: string, tokensFile: string | undefined, delayMs: number | undefined): string => `
local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))
local body = f:read("*all")
f:close()
local tokens = {}
${tokensFile === undefined ? '' : `for line in io.lines(${JSON.stringify(tokensFile)}) do tokens[#tokens + 1] = line end`}
local n = #tokens
local headers = { ["Content-Type"] = ${JSON.stringify(ARROW)} }
local i = 0
local threads = {}
local started = 0
function setup(thread)
  thread:set("offset", started)
  started = started + 1
  table.insert(threads, thread)
end
function init(args)
  if n > 0 then i = math.floor((offset or 0) * n / 7) % n end
end
function request()
  if n > 0 then
    i = i + 1
    if i > n then i = 1 end
    headers["VGI-Session"] = tokens[i]
  end
  return wrk.format("POST", ${JSON.stringify(path)}, headers, body)
end
${delayMs === undefined ? '' : `function delay() return ${delayMs} end`}
${CHECK_ANSWERS_LUA}`;

/** One measured wrk run's numbers. */
export interface LoadResult {
  readonly calls_per_s: number;
  readonly calls: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly max_us: number;
  readonly bad: number;
  readonly server_cpu_pct: number;
  readonly wrk_cpu_pct: number;
  readonly other_cpu_pct: number;
  /** The server's threads' run-queue wait (runnable, no free core), summed, % of the run. */
  readonly server_wait_pct: number;
}

const loadResult = (r: WrkRun): LoadResult => {
  const bad = r.report.errors + (r.report.checked?.bad ?? 0);
  return {
    calls_per_s: r.report.rps, calls: r.report.requests, p50_us: r.report.p50, p99_us: r.report.p99, max_us: r.report.max, bad,
    server_cpu_pct: r.serverCpuPct, wrk_cpu_pct: r.wrkCpuPct, other_cpu_pct: r.otherCpuPct, server_wait_pct: r.serverRunQueuePct,
  };
};

const loadLine = (name: string, r: LoadResult): string =>
  `${name.padEnd(44)} ${fmt(r.calls_per_s).padStart(8)} ${fmt(r.p50_us).padStart(7)} ${fmt(r.p99_us).padStart(7)} ${fmt(r.max_us).padStart(8)} ${String(r.bad).padStart(4)} ${fmt(r.server_cpu_pct).padStart(6)}% ${fmt(r.wrk_cpu_pct).padStart(5)}% ${fmt(r.other_cpu_pct).padStart(6)}% ${fmt(r.server_wait_pct).padStart(6)}%`;
const LOAD_HEAD = `${'load'.padEnd(44)} ${'calls/s'.padStart(8)} ${'p50 µs'.padStart(7)} ${'p99 µs'.padStart(7)} ${'max µs'.padStart(8)} ${'bad'.padStart(4)} ${'server'.padStart(7)} ${'wrk'.padStart(6)} ${'others'.padStart(7)} ${'waited'.padStart(7)}`;

/** Everything measured. */
export interface StickyHttpResults {
  readonly memory?: {
    readonly sessions: number;
    readonly per_worker: readonly number[];
    readonly open_per_s: number;
    readonly worker_heap_bytes_per_session: number;
    readonly main_heap_bytes_per_session: number;
    readonly heap_bytes_per_session: number;
    readonly rss_bytes_per_session: number;
    readonly sessions_per_gib: number;
  };
  readonly resume?: {
    readonly saturated: LoadResult; readonly paced: LoadResult; readonly light: LoadResult; readonly stateless: LoadResult; readonly statelessLight: LoadResult; readonly echoLight: LoadResult;
    /** The same light loads from the paced C client (when a C compiler was there). */
    readonly precise?: { readonly resume: PacedRows; readonly own: PacedRows; readonly stateless: PacedRows; readonly echo: PacedRows; readonly hop: PacedRows; readonly hopWork: PacedRows; readonly workNoHop: PacedRows };
  };
  /** The peer's server (one thread) under the same loads, and our numbers over its. */
  readonly peer?: {
    readonly sessions: number;
    readonly open_per_s: number;
    readonly heap_bytes_per_session: number;
    readonly saturated: LoadResult;
    readonly precise?: { readonly resume: PacedRows; readonly own: PacedRows };
  };
  readonly reap?: {
    readonly expired: number;
    readonly released: number;
    /** The window's load and latencies from wrk (without a C compiler). */
    readonly reaping?: LoadResult;
    readonly reaping_stalls: ThreadStalls;
    readonly control?: LoadResult;
    readonly control_stalls: ThreadStalls;
    readonly late_start: boolean;
    /** Each round's worst stalls (ms): the workers' and the main thread's, reaping and control. */
    readonly rounds: readonly { readonly reaping_worker_worst_ms: number; readonly control_worker_worst_ms: number; readonly reaping_main_worst_ms: number; readonly control_main_worst_ms: number }[];
    /** The windows' load and latencies from the paced C client, instead of wrk (when a C compiler was there). */
    readonly precise?: { readonly reaping: PacedResult; readonly control: PacedResult };
  };
}

const pacedLine = (name: string, r: PacedResult): string =>
  `${name.padEnd(44)} ${fmt(r.rate).padStart(8)} ${fmt(r.p50_us).padStart(7)} ${fmt(r.p99_us).padStart(7)} ${fmt(r.p999_us).padStart(8)} ${fmt(r.max_us).padStart(8)} ` +
  `${fmt(r.sent_p50_us).padStart(7)} ${fmt(r.sent_p99_us).padStart(7)} ${fmt(r.sent_max_us).padStart(8)} ${String(r.bad).padStart(4)} ${fmt(r.server_cpu_pct).padStart(6)}% ${fmt(r.client_cpu_pct).padStart(6)}% ${fmt(r.server_wait_pct).padStart(6)}%`;
const PACED_HEAD = `${'load'.padEnd(44)} ${'calls/s'.padStart(8)} ${'p50 µs'.padStart(7)} ${'p99 µs'.padStart(7)} ${'p99.9 µs'.padStart(8)} ${'max µs'.padStart(8)} ` +
  `${'sent p50'.padStart(7)} ${'sent p99'.padStart(7)} ${'sent max'.padStart(8)} ${'bad'.padStart(4)} ${'server'.padStart(7)} ${'client'.padStart(7)} ${'waited'.padStart(7)}`;
const roundsOf = (r: PacedRows): string => r.p99_rounds_us.map((v) => fmt(v)).join(' / ');
/** The work per request of the hop floor's second server, µs: about what a resume costs its worker. */
const HOP_WORK_US = 60;

const PACED_NOTE = 'latency from when each request was due (open loop: a late answer delays the requests queued behind it on its connection), and from when it was written ("sent": leaves out the client\'s own lateness in waking to send)';

/** `ours / theirs` as a ratio for the table ('-' when either is missing). */
const ratio = (ours: number | undefined, theirs: number | undefined): string =>
  ours === undefined || theirs === undefined || !(theirs > 0) ? '-' : `${fmt(ours / theirs, 2)}x`;

/** The peer's rows, and each beside ours where this run measured ours too. */
const peerLines = (r: StickyHttpResults, o: StickyHttpOptions): string[] => {
  const p = r.peer!;
  const ours = r.resume;
  const head = `${''.padEnd(44)} ${'ours'.padStart(9)} ${'peer'.padStart(9)} ${'ratio'.padStart(7)}`;
  const row = (name: string, a: number | undefined, b: number, better: 'higher' | 'lower'): string =>
    `${name.padEnd(44)} ${(a === undefined ? '-' : fmt(a)).padStart(9)} ${fmt(b).padStart(9)} ${(better === 'higher' ? ratio(a, b) : ratio(b, a)).padStart(7)}`;
  const out = [
    `the peer (@query-farm/vgi-rpc's createHttpHandler with enableSticky, on node:http, one thread: bench/peer-http-server.mjs --sticky) under the same loads: ` +
      `${fmt(p.sessions)} sessions opened at ${fmt(p.open_per_s)}/s; resume saturated by wrk with the tokens rotated; ` +
      `light from the paced C client (${o.connections} connections, ${o.pacedRounds} rounds, median round by p99) at ${fmt(o.pacedRate)}/s for ours and ` +
      `${fmt(p.precise?.resume.rate ?? o.pacedRate)}/s for the peer (a quarter of its saturated rate at most, so that it is light for it too). Ratios: how many times better ours is (> 1: ours better)`,
    head,
    row('heap per idle session, B', r.memory?.heap_bytes_per_session, p.heap_bytes_per_session, 'lower'),
    row('resume, saturated, calls/s', ours?.saturated.calls_per_s, p.saturated.calls_per_s, 'higher'),
    row('resume, saturated, p99 µs', ours?.saturated.p99_us, p.saturated.p99_us, 'lower'),
  ];
  if (p.precise !== undefined) {
    out.push(
      row('resume, light, tokens rotated, p50 µs', ours?.precise?.resume.p50_us, p.precise.resume.p50_us, 'lower'),
      row('resume, light, tokens rotated, p99 µs', ours?.precise?.resume.p99_us, p.precise.resume.p99_us, 'lower'),
      row('resume, light, own connection, p50 µs', ours?.precise?.own.p50_us, p.precise.own.p50_us, 'lower'),
      row('resume, light, own connection, p99 µs', ours?.precise?.own.p99_us, p.precise.own.p99_us, 'lower'),
      `the peer's p99 of every round, µs: tokens rotated ${roundsOf(p.precise.resume)}; own connection ${roundsOf(p.precise.own)} (one thread: nothing crosses threads either way)`,
    );
  }
  return out;
};

/** Heap in use after full GCs: the main thread's and each worker's. */
const heaps = async (server: BenchServer, probes: readonly Probe[]): Promise<{ main: number; workers: number[] }> => {
  const workers: number[] = [];
  for (const p of probes) workers.push(Number(await p.api.heap({})));
  return { main: Number(await server.ask('heap', 'HEAP:')), workers };
};

const armStalls = async (server: BenchServer, probes: readonly Probe[]): Promise<void> => {
  await server.ask('arm', 'ARMED');
  for (const p of probes) await p.api.stall({ arm: true });
};

/** What each thread's event-loop watch saw over a window. */
interface ThreadStalls {
  readonly main: StallSummary;
  readonly workers: readonly StallSummary[];
}

/**
 * The reaping part's measured window, s: from 2 s before the instant the sessions expire to 3 s after it
 * (the reapers and the front end's sweep each run within a second of it).
 */
const REAP_WINDOW_S = 5;

/** One round of the reaping part: what was released, and both windows' loads and stalls. */
interface ReapRound {
  readonly released: number;
  readonly lateStart: boolean;
  readonly reaping: LoadResult | PacedResult;
  readonly reapingStalls: ThreadStalls;
  readonly control: LoadResult | PacedResult;
  readonly controlStalls: ThreadStalls;
}

const readStalls = async (server: BenchServer, probes: readonly Probe[]): Promise<ThreadStalls> => {
  const workers: StallSummary[] = [];
  for (const p of probes) workers.push(JSON.parse(await p.api.stall({ arm: false })) as StallSummary);
  return { main: JSON.parse(await server.ask('stall', 'STALL:')) as StallSummary, workers };
};

/** Run the bench; progress goes to `log`. */
export const measureStickyHttp = async (log: (s: string) => void, options: Partial<StickyHttpOptions> = {}): Promise<{ table: string; results: StickyHttpResults }> => {
  const o = { ...DEFAULTS, ...options };
  const missing = wrkMissing();
  if (missing !== undefined) return { table: `sticky sessions over HTTP: skipped (${missing})`, results: {} };
  const dir = mkdtempSync(join(tmpdir(), 'vgi-sticky-bench-'));
  const lines: string[] = [];
  const results: { -readonly [K in keyof StickyHttpResults]: StickyHttpResults[K] } = {};
  const touchBody = join(dir, 'touch.arrow');
  writeFileSync(touchBody, bodyOf('touch', {}));
  const openBody = join(dir, 'open.arrow');
  writeFileSync(openBody, bodyOf('open', { expires_at_ms: 0n }));
  const pingBody = join(dir, 'ping.arrow');
  writeFileSync(pingBody, bodyOf('ping', {}));
  const load = (script: string, url: string): WrkLoad => ({ threads: o.threads, connections: o.connections, script, url });
  const run = async (name: string, wl: WrkLoad, pid: number, warmup = o.warmupSeconds, seconds = o.seconds): Promise<LoadResult> => {
    log(`  ${name}: ${warmup} s warm-up, ${seconds} s measured`);
    if (warmup > 0) await warmUp(wl, warmup);
    return loadResult(await measuredRun(wl, seconds, pid));
  };
  const load0 = loadavg()[0]!;
  let openRate = 10_000;
  // The paced C client (bench/http-paced.c), for latencies below saturation that wrk's paced mode would blur.
  const tool = compileTool('http-paced', dir);
  if ('error' in tool) log(`sticky: ${tool.error}; the light runs and the reaping window use wrk only`);
  const probe = 'error' in tool ? undefined : (name: string, pl: PacedLoad, pid: number, warmup = o.warmupSeconds, seconds = o.seconds): Promise<PacedResult> => {
    log(`  ${name}: paced C client, ${fmt(pl.rate)}/s over ${pl.connections} connections, ${warmup} s warm-up, ${seconds} s measured`);
    return pacedRun(tool.binary, pl, warmup, seconds, pid);
  };
  try {
    if (o.parts.includes('memory') || o.parts.includes('resume')) {
      const server = await BenchServer.start(o.workers, o.serverFlags, o.serverTrace);
      try {
        const probes = await probeEachWorker(server.url, o.workers);
        await sleep(500);
        const before = await heaps(server, probes);
        const rss0 = server.rss();
        log(`sticky: opening ${fmt(o.sessions)} sessions from ${o.connections} connections`);
        const opened = await openSessions(server.port, o.sessions, o.connections, 0);
        openRate = opened.perSecond;
        const perWorker = await Promise.all(probes.map(async (p) => Number(await p.api.held({})) - 1));
        await sleep(500);
        const after = await heaps(server, probes);
        const rss1 = server.rss();
        const workerBytes = after.workers.reduce((a, b) => a + b, 0) - before.workers.reduce((a, b) => a + b, 0);
        const mainBytes = after.main - before.main;
        const perSession = (workerBytes + mainBytes) / o.sessions;
        results.memory = {
          sessions: o.sessions, per_worker: perWorker, open_per_s: opened.perSecond,
          worker_heap_bytes_per_session: workerBytes / o.sessions, main_heap_bytes_per_session: mainBytes / o.sessions,
          heap_bytes_per_session: perSession, rss_bytes_per_session: (rss1 - rss0) / o.sessions, sessions_per_gib: (1 << 30) / perSession,
        };
        const m = results.memory;
        lines.push(
          `sticky sessions over HTTP (bench/sticky-http.ts; server: bench/sticky-server.ts, ${o.workers} workers, node --expose-gc; ${cpus().length} cores, load average ${fmt(load0, 2)} at the start)`,
          `memory: ${fmt(o.sessions)} sessions opened from ${o.connections} keep-alive connections at ${fmt(m.open_per_s)}/s, held ${perWorker.map((n) => fmt(n)).join(' + ')} by the workers; ` +
            'V8 heap in use after full GCs, before and after, per session (each state is a one-field counter with a close()):',
          `  workers ${fmt(m.worker_heap_bytes_per_session)} B + main thread (token -> worker table) ${fmt(m.main_heap_bytes_per_session)} B = ${fmt(m.heap_bytes_per_session)} B per idle session ` +
            `(${fmt(m.sessions_per_gib / 1e6, 2)} M sessions per GiB of heap); process RSS grew ${fmt(m.rss_bytes_per_session)} B per session (RSS keeps garbage and free heap pages)`,
        );
        if (o.parts.includes('resume')) {
          const tokens = join(dir, 'tokens.txt');
          writeFileSync(tokens, `${opened.tokens.join('\n')}\n`);
          const pid = server.child.pid!;
          const touchUrl = `${server.url}/StickyBench/touch`;
          log('sticky: resumes under wrk');
          const saturatedScript = join(dir, 'touch.lua');
          writeFileSync(saturatedScript, wrkScript('/StickyBench/touch', touchBody, tokens, undefined));
          const pacedScript = join(dir, 'touch-paced.lua');
          writeFileSync(pacedScript, wrkScript('/StickyBench/touch', touchBody, tokens, o.pacedDelayMs));
          const lightScript = join(dir, 'touch-light.lua');
          writeFileSync(lightScript, wrkScript('/StickyBench/touch', touchBody, tokens, o.lightDelayMs));
          const pingScript = join(dir, 'ping.lua');
          writeFileSync(pingScript, wrkScript('/StickyBench/ping', pingBody, undefined, undefined));
          const pingLightScript = join(dir, 'ping-light.lua');
          writeFileSync(pingLightScript, wrkScript('/StickyBench/ping', pingBody, undefined, o.lightDelayMs));
          const saturated = await run('resume, saturated', load(saturatedScript, touchUrl), pid);
          const paced = await run(`resume, paced (${o.pacedDelayMs} ms between calls per connection)`, load(pacedScript, touchUrl), pid);
          const light = await run(`resume, light (${o.lightDelayMs} ms between calls per connection)`, load(lightScript, touchUrl), pid);
          const stateless = await run('stateless ping, saturated', load(pingScript, `${server.url}/StickyBench/ping`), pid);
          const statelessLight = await run(`stateless ping, light (${o.lightDelayMs} ms between calls per connection)`, load(pingLightScript, `${server.url}/StickyBench/ping`), pid);
          // The floor of the light runs: the bare uWS echo under the same paced wrk (wrk's delay() and its
          // clock add their own latency at low rates, which no server can go under).
          const pacedOf = (port: number, path: string, bodyFile: string, tokensFile?: string): PacedLoad =>
            ({ port, path, bodyFile, ...(tokensFile === undefined ? {} : { tokensFile }), connections: o.connections, rate: o.pacedRate });
          const echo = await startEchoServer('uws');
          let echoLight: LoadResult;
          let precise: { resume: PacedRows; own: PacedRows; stateless: PacedRows; echo: PacedRows; hop: PacedRows; hopWork: PacedRows; workNoHop: PacedRows } | undefined;
          // The floor of a resume that crosses threads (bench/http-hop-floor.ts): the bare echo on two listening
          // threads, a token's request answered by the thread its token names, over a MessagePort; and the
          // same with HOP_WORK_US of work per request on the answering thread, with tokens and without.
          const hopFloor = probe === undefined ? undefined : await startHopFloor();
          const hopWorkFloor = probe === undefined ? undefined : await startHopFloor(HOP_WORK_US);
          try {
            echoLight = await run(`floor: bare uWS echo, light (${o.lightDelayMs} ms between calls per connection)`, load(pingLightScript, `http://127.0.0.1:${echo.port}/StickyBench/ping`), echo.child.pid!);
            if (probe !== undefined) {
              // Rounds, each running every row once in turn: a stall of the machine lands in one round of one
              // row, and the median round shows what the code does; every round's p99 is printed too.
              const rows = { resume: [] as PacedResult[], own: [] as PacedResult[], stateless: [] as PacedResult[], echo: [] as PacedResult[], hop: [] as PacedResult[], hopWork: [] as PacedResult[], workNoHop: [] as PacedResult[] };
              // Each run of the server starts after full GCs in its threads, as the reaping windows do: the
              // garbage of the saturated runs before it (or of the 100,000 opens) is not this run's.
              const settled = async <T>(run: () => Promise<T>): Promise<T> => {
                await heaps(server, probes);
                return run();
              };
              for (let round = 1; round <= o.pacedRounds; round++) {
                const tag = `(round ${round} of ${o.pacedRounds})`;
                rows.resume.push(await settled(() => probe(`resume, light ${tag}`, pacedOf(server.port, '/StickyBench/touch', touchBody, tokens), pid)));
                // Each connection opens its own sessions and resumes only those: the worker that accepted the
                // connection holds them, so no resume crosses to another worker.
                rows.own.push(await settled(() => probe(`resume on the opening connection, light ${tag}`, pacedOf(server.port, '/StickyBench/touch', touchBody, `@open:/StickyBench/open:${openBody}:${OWN_SESSIONS}`), pid)));
                rows.stateless.push(await settled(() => probe(`stateless ping, light ${tag}`, pacedOf(server.port, '/StickyBench/ping', pingBody), pid)));
                rows.echo.push(await probe(`floor: bare uWS echo, light ${tag}`, pacedOf(echo.port, '/StickyBench/ping', pingBody), echo.child.pid!));
                rows.hop.push(await probe(`floor with a hop: uWS echo on 2 threads, tokens rotated, light ${tag}`, pacedOf(hopFloor!.port, '/StickyBench/touch', touchBody, tokens), hopFloor!.child.pid!));
                rows.hopWork.push(await probe(`floor with a hop and ${HOP_WORK_US} µs of work, tokens rotated, light ${tag}`, pacedOf(hopWorkFloor!.port, '/StickyBench/touch', touchBody, tokens), hopWorkFloor!.child.pid!));
                rows.workNoHop.push(await probe(`the same ${HOP_WORK_US} µs of work, no token (no hop), light ${tag}`, pacedOf(hopWorkFloor!.port, '/StickyBench/ping', pingBody), hopWorkFloor!.child.pid!));
              }
              precise = { resume: medianByP99(rows.resume), own: medianByP99(rows.own), stateless: medianByP99(rows.stateless), echo: medianByP99(rows.echo), hop: medianByP99(rows.hop), hopWork: medianByP99(rows.hopWork), workNoHop: medianByP99(rows.workNoHop) };
            }
          } finally {
            echo.child.kill();
            hopFloor?.child.kill('SIGTERM');
            hopWorkFloor?.child.kill('SIGTERM');
          }
          results.resume = { saturated, paced, light, stateless, statelessLight, echoLight, ...(precise === undefined ? {} : { precise }) };
          lines.push(
            '',
            `resume: touch (unary, bumps the session's counter) with a different one of the ${fmt(o.sessions)} tokens on every request (wrk Lua rotates them), ` +
              `wrk ${o.threads} threads / ${o.connections} keep-alive connections, ${o.warmupSeconds} s warm-up then ${o.seconds} s measured, every answer checked; ` +
              "CPU in % of one core (server = the whole server process, wrk = wrk's user+system, others = the rest of the machine)",
            LOAD_HEAD,
            loadLine('resume, saturated (64 in flight)', saturated),
            loadLine(`resume, paced (${o.pacedDelayMs} ms pause per connection)`, paced),
            loadLine(`resume, light (${o.lightDelayMs} ms pause per connection)`, light),
            loadLine('stateless ping, saturated (no session)', stateless),
            loadLine(`stateless ping, light (${o.lightDelayMs} ms pause per connection)`, statelessLight),
            loadLine(`floor: uWS echo, light (${o.lightDelayMs} ms pause)`, echoLight),
            `saturated latency is mostly queueing (64 in flight / ${fmt(saturated.calls_per_s)} calls/s = ${fmt((o.connections / saturated.calls_per_s) * 1e6)} µs mean); the paced and light runs show the answer time below saturation. ` +
              "'waited': the server's threads' time runnable but without a free core (/proc schedstat), summed over its threads, % of the run: a request waits at least that long in aggregate whatever the code does. Target: resume p99 < 1 ms.",
          );
          const pr = results.resume.precise;
          if (pr !== undefined) {
            lines.push(
              `light load from the paced C client (bench/http-paced.c: ${fmt(o.pacedRate)} calls/s spread over ${o.connections} keep-alive connections, open loop, ${o.warmupSeconds} s warm-up then ${o.seconds} s measured, every answer checked; ` +
                `${o.pacedRounds} rounds, each running every row once in turn, each run of the server after full GCs in its threads; each row shows its median round by p99); ${PACED_NOTE}`,
              PACED_HEAD,
              pacedLine('resume (touch, a different token each call)', pr.resume),
              pacedLine(`resume, own connection (${OWN_SESSIONS} each)`, pr.own),
              pacedLine('stateless ping (no session)', pr.stateless),
              pacedLine('floor: bare uWS echo', pr.echo),
              pacedLine('floor with a hop (echo, tokens rotated)', pr.hop),
              pacedLine(`  the same + ${HOP_WORK_US} µs work per request`, pr.hopWork),
              pacedLine(`  ${HOP_WORK_US} µs work, no token (no hop)`, pr.workNoHop),
              `p99 of every round, µs: resume ${roundsOf(pr.resume)}; own connection ${roundsOf(pr.own)}; stateless ${roundsOf(pr.stateless)}; floor ${roundsOf(pr.echo)}; ` +
                `floor with a hop ${roundsOf(pr.hop)}; + ${HOP_WORK_US} µs work ${roundsOf(pr.hopWork)}; work, no hop ${roundsOf(pr.workNoHop)}`,
              'floor with a hop (bench/http-hop-floor.ts): the bare uWS echo on 2 threads sharing the port, each request echoed by the thread its token names (about half cross over a MessagePort and back), no vgi-rpc code: ' +
                `what any runtime pays for a session held on one thread; then with ${HOP_WORK_US} µs of work on the answering thread (about a call's cost in a worker), with the rotated tokens and without any`,
            );
          }
        }
        for (const p of probes) await p.conn.close();
      } finally {
        await server.stop();
      }
    }
    if (o.parts.includes('peer')) {
      const peer = await BenchServer.startPeer();
      try {
        const pid = peer.child.pid!;
        await sleep(500);
        const before = Number(await peer.ask('heap', 'HEAP:'));
        log(`sticky, the peer: opening ${fmt(o.peerSessions)} sessions from ${o.connections} connections`);
        const opened = await openSessions(peer.port, o.peerSessions, o.connections, 0);
        await sleep(500);
        const perSession = (Number(await peer.ask('heap', 'HEAP:')) - before) / o.peerSessions;
        const tokens = join(dir, 'peer-tokens.txt');
        writeFileSync(tokens, `${opened.tokens.join('\n')}\n`);
        const script = join(dir, 'peer-touch.lua');
        writeFileSync(script, wrkScript('/StickyBench/touch', touchBody, tokens, undefined));
        const saturated = await run('the peer: resume, saturated', load(script, `${peer.url}/StickyBench/touch`), pid);
        let precise: { resume: PacedRows; own: PacedRows } | undefined;
        if (probe !== undefined) {
          const rows = { resume: [] as PacedResult[], own: [] as PacedResult[] };
          // Light for the peer too: at most a quarter of what it sustains saturated, so that its latency is its answer
          // time and not queueing (where it sustains less than 4x the rate ours get, it gets a lighter load than ours).
          const rate = Math.max(50, Math.min(o.pacedRate, Math.floor(saturated.calls_per_s / 4 / 50) * 50));
          const paced = (tokensFile: string): PacedLoad => ({ port: peer.port, path: '/StickyBench/touch', bodyFile: touchBody, tokensFile, connections: o.connections, rate });
          for (let round = 1; round <= o.pacedRounds; round++) {
            const tag = `(round ${round} of ${o.pacedRounds})`;
            await peer.ask('heap', 'HEAP:');
            rows.resume.push(await probe(`the peer: resume, light ${tag}`, paced(tokens), pid));
            await peer.ask('heap', 'HEAP:');
            rows.own.push(await probe(`the peer: resume on the opening connection, light ${tag}`, paced(`@open:/StickyBench/open:${openBody}:${OWN_SESSIONS}`), pid));
          }
          precise = { resume: medianByP99(rows.resume), own: medianByP99(rows.own) };
        }
        results.peer = { sessions: o.peerSessions, open_per_s: opened.perSecond, heap_bytes_per_session: perSession, saturated, ...(precise === undefined ? {} : { precise }) };
        lines.push('', ...peerLines(results, o));
      } finally {
        await peer.stop();
      }
    }
    if (o.parts.includes('reap')) {
      const server = await BenchServer.start(o.workers, o.serverFlags, o.serverTrace);
      try {
        const probes = await probeEachWorker(server.url, o.workers);
        log(`sticky reaping: ${fmt(o.reapLoadSessions)} long-lived sessions, then ${fmt(o.sessions)} expiring at one instant`);
        const longLived = await openSessions(server.port, o.reapLoadSessions, o.connections, 0);
        const tokens = join(dir, 'long-lived.txt');
        writeFileSync(tokens, `${longLived.tokens.join('\n')}\n`);
        const script = join(dir, 'touch-reap.lua');
        writeFileSync(script, wrkScript('/StickyBench/touch', touchBody, tokens, o.pacedDelayMs));
        const wl = load(script, `${server.url}/StickyBench/touch`);
        // Warm the server's resume path before the expiring sessions exist.
        await warmUp(wl, o.warmupSeconds);
        const reapPaced: PacedLoad = { port: server.port, path: '/StickyBench/touch', bodyFile: touchBody, tokensFile: tokens, connections: o.connections, rate: o.pacedRate };
        // The C client's light load times every answer (a stall shows as the answers it delayed); wrk's
        // paced mode is the fallback (it loads the server to half its capacity, where queueing blurs stalls).
        const window_ = (name: string, seconds: number): Promise<LoadResult | PacedResult> =>
          probe === undefined ? run(name, wl, server.child.pid!, 0, seconds) : probe(name, reapPaced, server.child.pid!, 0, seconds);
        // Rounds, as the light runs: one stall of the machine lands in one round, and the median round (by the
        // reaping window's worst worker stall) shows what the reaper does; every round's worst stalls are printed.
        /** Sessions the workers hold now (their states not yet closed). */
        const held = async (): Promise<number> => (await Promise.all(probes.map((p) => p.api.held({})))).reduce((a, b) => a + Number(b), 0);
        const rounds: ReapRound[] = [];
        /**
         * One window of a round: 100,000 sessions opened first, then full GCs in every thread, then (at 2 s
         * before `instant`) a second of the load unmeasured, then the measured window spanning `instant`. For
         * the reaping window the sessions expire at `instant`; for the control they were opened the same way
         * and expire only after the window, so both windows have the same history: the opening burst (its
         * young generation grown, and shrunk again at the first collection after the idle wait, which unmaps
         * its pages) and the collected heaps. The warm-up second lets that first collection happen before
         * either window is measured.
         */
        const afterOpening = async (name: string, expiring: boolean): Promise<{ result: LoadResult | PacedResult; stalls: ThreadStalls; released: number; lateStart: boolean }> => {
          // Opening must end before the instant: estimate its time from the slower of the rates seen.
          const instant = Date.now() + Math.ceil((o.sessions / Math.min(openRate, longLived.perSecond)) * 1.5 * 1000) + 4_000;
          const expiresAt = expiring ? instant : instant + (REAP_WINDOW_S + 5) * 1000;
          await openSessions(server.port, o.sessions, o.connections, expiresAt);
          const heldBefore = await held();
          const lateStart = Date.now() > instant - 3_000;
          // Full GCs in every thread first: the garbage of 100,000 opening requests is the opening's.
          await heaps(server, probes);
          await sleep(Math.max(0, instant - 3_000 - Date.now()));
          await window_(`${name}: warm-up, not measured`, 1);
          await armStalls(server, probes);
          log(`  ${name}: ${REAP_WINDOW_S} s of paced resumes of the long-lived sessions (${expiring ? 'expiry' : 'the instant'} in ${fmt((instant - Date.now()) / 1000, 1)} s)`);
          const result = await window_(name, REAP_WINDOW_S);
          const stalls = await readStalls(server, probes);
          const released = heldBefore - (await held());
          if (!expiring) {
            // The control's sessions expire after its window: let them be reaped before the next window.
            const deadline = expiresAt + 15_000;
            while ((await held()) > heldBefore - o.sessions) {
              if (Date.now() > deadline) throw new Error("the control's sessions were not reaped within 15 s of their expiry");
              await sleep(500);
            }
          }
          return { result, stalls, released, lateStart };
        };
        for (let round = 1; round <= o.reapRounds; round++) {
          const reaping = await afterOpening(`resumes while reaping (round ${round} of ${o.reapRounds})`, true);
          const control = await afterOpening(`control: the same load and history, nothing expiring (round ${round} of ${o.reapRounds})`, false);
          rounds.push({
            released: reaping.released, lateStart: reaping.lateStart || control.lateStart,
            reaping: reaping.result, reapingStalls: reaping.stalls, control: control.result, controlStalls: control.stalls,
          });
        }
        const workerWorst = (t: ThreadStalls): number => Math.max(...t.workers.map((w) => w.worst_ms));
        const median = [...rounds].sort((a, b) => workerWorst(a.reapingStalls) - workerWorst(b.reapingStalls))[Math.floor((rounds.length - 1) / 2)]!;
        const { reaping, control, lateStart } = median;
        const reapingStall = median.reapingStalls;
        const controlStall = median.controlStalls;
        const released = Math.min(...rounds.map((r) => r.released));
        results.reap = {
          expired: o.sessions, released, reaping_stalls: reapingStall, control_stalls: controlStall, late_start: rounds.some((r) => r.lateStart),
          rounds: rounds.map((r) => ({ reaping_worker_worst_ms: workerWorst(r.reapingStalls), control_worker_worst_ms: workerWorst(r.controlStalls), reaping_main_worst_ms: r.reapingStalls.main.worst_ms, control_main_worst_ms: r.controlStalls.main.worst_ms })),
          ...('p999_us' in reaping && 'p999_us' in control ? { precise: { reaping, control } } : { reaping: reaping as LoadResult, control: control as LoadResult }),
        };
        const one = (s: StallSummary): string =>
          `${fmt(s.worst_ms, 1)} ms (${s.over_5ms} over 5 ms, ${s.over_2ms} over 2 ms in ${fmt(s.ticks)} ticks; GC worst ${fmt(s.gc_worst_ms, 1)} ms${s.gc_worst_kind === '' ? '' : ` (${s.gc_worst_kind})`}, ${s.gc_over_5ms} over 5 ms, ${fmt(s.gc_ms)} ms in all; waited for a core ${fmt(s.runqueue_ms)} ms)`;
        const stalls = (s: ThreadStalls): string => `main ${one(s.main)}; workers ${s.workers.map(one).join(' / ')}`;
        lines.push(
          '',
          `reaping: ${fmt(o.sessions)} sessions expiring at one instant (opened with that absolute expiry) beside ${fmt(o.reapLoadSessions)} long-lived ones; ` +
            (probe === undefined
              ? `wrk's paced resumes of the long-lived ones (${o.pacedDelayMs} ms pause per connection, ${o.connections} connections)`
              : `the paced C client's resumes of the long-lived ones (${fmt(o.pacedRate)}/s over ${o.connections} connections)`) +
            ` over ${REAP_WINDOW_S} s spanning the expiry and the reapers' next ticks, after a second of the same load unmeasured, in ${o.reapRounds} rounds (each: 100,000 opened to expire in the reaping window, then 100,000 opened the same way to expire after the control's window); the median round by the reaping window's worst worker stall is shown; ` +
            `released by the reapers in each window: at least ${fmt(released)} of ${fmt(o.sessions)}${lateStart ? ' (opening ran late: it ended less than 3 s before the expiry)' : ''}`,
          ...('p999_us' in reaping && 'p999_us' in control
            ? [PACED_NOTE, PACED_HEAD, pacedLine(`resumes while ${fmt(o.sessions / 1000)}k sessions are reaped`, reaping), pacedLine('control: same history, nothing expiring', control)]
            : [LOAD_HEAD, loadLine(`resumes while ${fmt(o.sessions / 1000)}k sessions are reaped`, reaping as LoadResult), loadLine('control: same history, nothing expiring', control as LoadResult)]),
          `event-loop stalls (lateness of a 1 ms timer in each thread): worst, and how many ticks were late by more than 5 / 2 ms`,
          `  while reaping: ${stalls(reapingStall)}`,
          `  control:       ${stalls(controlStall)}`,
          `worst worker stall of every round, ms: reaping ${rounds.map((r) => fmt(workerWorst(r.reapingStalls), 1)).join(' / ')}; control ${rounds.map((r) => fmt(workerWorst(r.controlStalls), 1)).join(' / ')}; ` +
            `main thread: reaping ${rounds.map((r) => fmt(r.reapingStalls.main.worst_ms, 1)).join(' / ')}; control ${rounds.map((r) => fmt(r.controlStalls.main.worst_ms, 1)).join(' / ')}`,
          'Target: no request stalled by more than 5 ms (on a shared machine the control shows what preemption alone costs).',
        );
        for (const p of probes) await p.conn.close();
      } finally {
        await server.stop();
      }
    }
    lines.push(`(load average ${fmt(load0, 2)} at the start, ${fmt(loadavg()[0]!, 2)} at the end; the machine is shared)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { table: lines.join('\n'), results };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const sessions = arg('--sessions');
  const only = arg('--only');
  const rounds = arg('--rounds');
  const reapRounds = arg('--reap-rounds');
  const serverFlags = arg('--server-flags');
  const serverTrace = arg('--server-trace');
  const peerSessions = arg('--peer-sessions');
  const { table, results } = await measureStickyHttp((s) => process.stderr.write(`${s}\n`), {
    ...(peerSessions === undefined ? {} : { peerSessions: Number(peerSessions) }),
    ...(serverFlags === undefined ? {} : { serverFlags: serverFlags.split(' ').filter((f) => f !== '') }),
    ...(serverTrace === undefined ? {} : { serverTrace }),
    ...(sessions === undefined ? {} : { sessions: Number(sessions) }),
    ...(rounds === undefined ? {} : { pacedRounds: Number(rounds) }),
    ...(reapRounds === undefined ? {} : { reapRounds: Number(reapRounds) }),
    ...(only === undefined ? {} : { parts: only.split(',') as StickyHttpOptions['parts'] }),
  });
  process.stdout.write(`${table}\n${JSON.stringify(results)}\n`);
}
