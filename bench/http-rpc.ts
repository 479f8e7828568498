/**
 * HTTP RPC benchmarks, ours beside the npm peer (@query-farm/vgi-rpc 0.25.4)
 * in one run, reported as ratios:
 *
 * 1. unary `add` calls/s with 64 keep-alive connections: Debian's wrk
 *    POSTs the request our client encodes for add(1, 2) (read from a file by
 *    a Lua script) to `/Bench/add` with the Arrow media type, and checks every
 *    answer (status 200, no `X-VGI-RPC-Error`). Servers: ours with 2, 1 and
 *    0 worker threads (examples/bench/worker.js --http; with workers, each
 *    listens on the port itself, the default: no hop through the main
 *    thread, the kernel spreads the connections), with 2 workers behind the
 *    main thread's front end (`--listeners main`), and that over the
 *    runtime's SAB hop (`--hop sab`: the front end's small requests and
 *    replies cross through rings, not MessagePorts), the peer's
 *    `createHttpHandler` on node:http (bench/peer-http-server.mjs), and the
 *    bare uWS POST echo (bench/http-echo-server.ts, the same request body to
 *    `/echo`, the same Lua script) as the machine's floor. Each: a 2 s wrk
 *    warm-up (JIT, first connections), then a 5 s measured run; the
 *    server's CPU from /proc/<pid>/stat around it, wrk's from
 *    /usr/bin/time, the rest of the machine's busy time from /proc/stat.
 *    wrk cannot keep connections across runs: the measured run opens its
 *    64 connections first, which takes about 5 ms on loopback (0.1% of the
 *    window).
 * 2. producer MB/s: 4 concurrent `produce` streams of 100,000-row batches
 *    ({i: int64, x: float64}, 1.6 MB of payload each; one /init, then one
 *    /exchange per batch echoing the tokens), driven from a child process
 *    (bench/http-load.ts) by the same client against both servers: by
 *    default its raw client (requests encoded by our wire code, answers
 *    decoded and checked by our client's turn reader, on plain keep-alive
 *    sockets), because our fetch-based HTTP client costs about a millisecond
 *    of CPU per request here and would be the bottleneck (`streamClient:
 *    'fetch'` measures through it); uncompressed (both servers
 *    with compression off) and compressed (both servers' defaults: ours
 *    answers zstd level 1; the peer on Node 20 can encode only gzip, so it
 *    answers gzip, its only codec here).
 * 3. exchange round trips/s: 8 concurrent `double` streams, one 100-row
 *    batch per turn, each stream's turns one after another, compression off
 *    on both (bodies of 800 bytes), same client process as 2.
 * 4. where our server's CPU per unary call goes: the 2-worker server run
 *    again under `node --cpu-prof` (one profile per thread) with the same
 *    wrk load; the samples inside the measured run are summed by source
 *    file and by stage (bench/cpu-profile.ts) and divided by the calls.
 *
 * For 2 and 3 the load process reports its own CPU over the window (so it
 * can be seen not to be the bottleneck), and the window starts after a
 * warm-up in which every stream has had its first answer.
 *
 * Standalone: node dist/bench/http-rpc.js [--only unary,producer,exchange,profile] [--fetch]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, httpConnect } from '../src/index.js';
import { encodeRequest } from '../src/client/connection.js';
import { Bench } from '../examples/bench/bench-service.js';
import { uwsStatus } from '../transports/http/uws-engine.js';
import { startEchoServer } from './http-echo.js';
import { CLK_TCK, machineBusyTicks, processTicks } from './proc-cpu.js';
import { type WrkLoad, checkingPostScript, measuredRun, warmUp, wrkMissing } from './wrk.js';
import { profileFiles, readProfile, summarise } from './cpu-profile.js';
import { LoadProcess } from './load-process.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const WORKER = join(HERE, '../examples/bench/worker.js');
const LOAD = join(HERE, 'http-load.js');
const PEER_SERVER = join(HERE, '../../bench/peer-http-server.mjs');
const ARROW = 'application/vnd.apache.arrow.stream';

/** How the benchmarks are shaped. */
export interface HttpRpcOptions {
  readonly connections: number;
  readonly threads: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly producerStreams: number;
  readonly producerRows: number;
  readonly exchangeStreams: number;
  readonly exchangeRows: number;
  /** Warm-up and window of the stream benchmarks, s. */
  readonly streamWarmupSeconds: number;
  readonly streamSeconds: number;
  /** The stream load's client (bench/http-load.ts --client). */
  readonly streamClient: 'raw' | 'fetch';
  readonly parts: readonly ('unary' | 'producer' | 'exchange' | 'profile')[];
}

const DEFAULTS: HttpRpcOptions = {
  connections: 64, threads: 2, warmupSeconds: 2, seconds: 5,
  producerStreams: 4, producerRows: 100_000, exchangeStreams: 8, exchangeRows: 100,
  streamWarmupSeconds: 1.5, streamSeconds: 4, streamClient: 'raw',
  parts: ['unary', 'producer', 'exchange', 'profile'],
};

/** A server under test: how to start it and what it is. */
interface Target {
  readonly name: string;
  readonly kind: 'ours' | 'peer' | 'floor';
  readonly args: readonly string[];
}

/** The flags of the mode where the main thread's front end hands each request to a worker (the default: every worker listens). */
const MAIN_FRONT = ['--listeners', 'main'] as const;
/** The flags of the runtime's SAB hop (the main front end's links to the workers carry their small messages through rings). */
const SAB_HOP = [...MAIN_FRONT, '--hop', 'sab'] as const;
const ours = (workers: number, extra: readonly string[] = []): Target => ({
  name: `ours, ${workers === 0 ? '0 workers (main thread)' : `${workers} worker${workers === 1 ? '' : 's'}${extra.includes('main') ? ', main front end' : ''}`}${extra.includes('sab') ? ', SAB hop' : ''}`,
  kind: 'ours',
  args: [WORKER, '--http', '--port', '0', '--workers', String(workers), ...extra],
});
/** Whether a result is of the mode where the main thread's front end hands requests to the workers. */
const mainFront = (r: { readonly name: string }): boolean => r.name.includes('main front end');
/** Whether a result is of the SAB hop (not the default). */
const sabHop = (r: { readonly name: string }): boolean => r.name.includes('SAB hop');
const peer = (extra: readonly string[] = []): Target => ({ name: 'peer 0.25.4 on node:http', kind: 'peer', args: [PEER_SERVER, ...extra] });

/** A started server. */
interface Running {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Start ours or the peer's (`PORT:<n>` on stdout), with extra node flags before the script. */
const startRpcServer = (t: Target, nodeFlags: readonly string[] = []): Promise<Running> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, ...t.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (!/SIGTERM received, draining/.test(line)) process.stderr.write(`  server: ${line}\n`);
    });
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${t.name} did not start`)); }, 30_000);
    const onExit = (code: number | null): void => { clearTimeout(timer); reject(new Error(`${t.name} exited (${code}) before listening`)); };
    child.once('exit', onExit);
    rl.on('line', (line) => {
      const m = /^PORT:(\d+)$/.exec(line);
      if (m === null) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      rl.close();
      child.stdout!.resume();
      resolve({ child, port: Number(m[1]) });
    });
  });

/** SIGTERM, then wait for the exit (SIGKILL after 15 s). */
const stopServer = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
};

/** One typed add(1, 2) through our HTTP client: wrk does not decode answers, so each server is checked once here. */
const checkAdd = async (port: number): Promise<void> => {
  const conn = await httpConnect(`http://127.0.0.1:${port}`, { retry: false });
  try {
    const r = await Client.promises(Bench, conn).add({ a: 1, b: 2 });
    if (r !== 3) throw new Error(`add(1, 2) returned ${r}`);
  } finally {
    await conn.close();
  }
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

// ---------------------------------------------------------------------------
// 1. unary under wrk
// ---------------------------------------------------------------------------

/** One server's unary run. */
export interface UnaryResult {
  readonly name: string;
  readonly kind: Target['kind'];
  readonly calls_per_s: number;
  readonly calls: number;
  readonly p50_us: number;
  readonly p99_us: number;
  /** Answers that were not 200 or carried X-VGI-RPC-Error, plus socket errors. */
  readonly bad: number;
  readonly server_cpu_pct: number;
  readonly server_cpu_us_per_call: number;
  readonly wrk_cpu_pct: number;
  readonly wrk_cpu_us_per_call: number;
  readonly other_cpu_pct: number;
}

/** The request body and the Lua script wrk sends it with. */
interface UnaryFiles {
  readonly script: string;
}

const prepareUnary = (dir: string): UnaryFiles => {
  const parts: Uint8Array[] = [];
  encodeRequest(parts, { protocol: 'Bench', protocolVersion: undefined }, 'add', Bench.methods.add, { a: 1, b: 2 });
  const body = join(dir, 'add-request.arrow');
  writeFileSync(body, Buffer.concat(parts));
  const script = join(dir, 'post-add.lua');
  writeFileSync(script, checkingPostScript(body, ARROW));
  return { script };
};

/** Start, check, warm up and measure one unary target; `nodeFlags` go before the script (e.g. --cpu-prof). */
const unaryRun = async (t: Target, files: UnaryFiles, o: HttpRpcOptions, log: (s: string) => void, nodeFlags: readonly string[] = []) => {
  let server: Running;
  if (t.kind === 'floor') {
    server = await startEchoServer('uws');
    const probe = new Uint8Array([1, 2, 3]);
    const answer = await fetch(`http://127.0.0.1:${server.port}/echo`, { method: 'POST', body: probe });
    if (answer.status !== 200 || (await answer.arrayBuffer()).byteLength !== 3) throw new Error('the uWS echo server did not echo');
  } else {
    server = await startRpcServer(t, nodeFlags);
    await checkAdd(server.port);
  }
  try {
    const load: WrkLoad = { threads: o.threads, connections: o.connections, script: files.script, url: `http://127.0.0.1:${server.port}${t.kind === 'floor' ? '/echo' : '/Bench/add'}` };
    log(`http-rpc unary: ${t.name}: ${o.warmupSeconds} s warm-up, then wrk -t${o.threads} -c${o.connections} -d${o.seconds}s`);
    await warmUp(load, o.warmupSeconds);
    const run = await measuredRun(load, o.seconds, server.child.pid!);
    return { server, run };
  } catch (e) {
    await stopServer(server.child);
    throw e;
  }
};

const unaryResult = (t: Target, run: Awaited<ReturnType<typeof measuredRun>>): UnaryResult => {
  const w = run.report;
  const bad = (w.checked?.bad ?? Number.NaN) + w.errors;
  return {
    name: t.name, kind: t.kind,
    calls_per_s: w.rps, calls: w.requests, p50_us: w.p50, p99_us: w.p99, bad,
    server_cpu_pct: run.serverCpuPct, server_cpu_us_per_call: (run.serverCpuSeconds * 1e6) / w.requests,
    wrk_cpu_pct: run.wrkCpuPct, wrk_cpu_us_per_call: (run.wrkCpuSeconds * 1e6) / w.requests,
    other_cpu_pct: run.otherCpuPct,
  };
};

const measureUnary = async (files: UnaryFiles, o: HttpRpcOptions, log: (s: string) => void): Promise<UnaryResult[]> => {
  const targets: Target[] = [
    ...(uwsStatus().available ? [{ name: 'floor: bare uWS POST echo', kind: 'floor' as const, args: [] }] : []),
    ours(2), ours(2, MAIN_FRONT), ours(2, SAB_HOP), ours(1), ours(0), peer(),
  ];
  const results: UnaryResult[] = [];
  for (const t of targets) {
    const { server, run } = await unaryRun(t, files, o, log);
    await stopServer(server.child);
    results.push(unaryResult(t, run));
  }
  return results;
};

const unaryTable = (results: readonly UnaryResult[], o: HttpRpcOptions): string[] => {
  const best = results.find((r) => r.kind === 'ours' && r.name.includes('2 workers') && !mainFront(r));
  const sab = results.find((r) => r.kind === 'ours' && sabHop(r));
  const front = results.find((r) => r.kind === 'ours' && mainFront(r) && !sabHop(r));
  const p = results.find((r) => r.kind === 'peer');
  const floor = results.find((r) => r.kind === 'floor');
  const lines = [
    `unary add(1, 2): wrk ${o.threads} threads / ${o.connections} keep-alive connections on 127.0.0.1, the request our client encodes (POST /Bench/add, ${ARROW}), ` +
      `every answer checked by the Lua script (200 and no X-VGI-RPC-Error); ${o.warmupSeconds} s warm-up, then ${o.seconds} s measured ` +
      `(its 64 connects take ~5 ms of it); one run per server, each alone in its own process`,
    `${'server'.padEnd(42)} ${'calls/s'.padStart(9)} ${'p50 us'.padStart(8)} ${'p99 us'.padStart(8)} ${'bad'.padStart(5)} ${'server CPU'.padStart(10)} ${'us/call'.padStart(8)} ${'wrk CPU'.padStart(8)} ${'us/call'.padStart(8)} ${'others'.padStart(7)}`,
    ...results.map((r) =>
      `${r.name.padEnd(42)} ${fmt(r.calls_per_s).padStart(9)} ${fmt(r.p50_us).padStart(8)} ${fmt(r.p99_us).padStart(8)} ${fmt(r.bad).padStart(5)} ` +
      `${`${fmt(r.server_cpu_pct)}%`.padStart(10)} ${fmt(r.server_cpu_us_per_call, 1).padStart(8)} ${`${fmt(r.wrk_cpu_pct)}%`.padStart(8)} ${fmt(r.wrk_cpu_us_per_call, 1).padStart(8)} ${`${fmt(r.other_cpu_pct)}%`.padStart(7)}`),
    '(CPU in % of one core, 200% = both cores; "others": the rest of the machine\'s busy time over the window, from /proc/stat; "bad": non-200 or X-VGI-RPC-Error answers and socket errors)',
  ];
  if (best !== undefined && p !== undefined) lines.push(`ours (2 workers) / peer: ${fmt(best.calls_per_s / p.calls_per_s, 1)}x calls/s (target >= 12x); server CPU per call ${fmt(p.server_cpu_us_per_call / best.server_cpu_us_per_call, 1)}x less`);
  if (best !== undefined && floor !== undefined) lines.push(`ours (2 workers) / uWS echo floor: ${fmt((best.calls_per_s / floor.calls_per_s) * 100, 1)}% (target >= 40%)`);
  if (front !== undefined && p !== undefined) lines.push(`ours (2 workers, main front end) / peer: ${fmt(front.calls_per_s / p.calls_per_s, 1)}x calls/s; server CPU per call ${fmt(p.server_cpu_us_per_call / front.server_cpu_us_per_call, 1)}x less`);
  if (front !== undefined && floor !== undefined) lines.push(`ours (2 workers, main front end) / uWS echo floor: ${fmt((front.calls_per_s / floor.calls_per_s) * 100, 1)}%`);
  if (front !== undefined && sab !== undefined) lines.push(`SAB hop / MessagePort hop (2 workers, main front end): ${fmt(sab.calls_per_s / front.calls_per_s, 2)}x calls/s, server CPU per call ${fmt(sab.server_cpu_us_per_call, 1)} vs ${fmt(front.server_cpu_us_per_call, 1)} us`);
  return lines;
};

// ---------------------------------------------------------------------------
// 2, 3. streams, driven by our client in a child process
// ---------------------------------------------------------------------------

/** One server's stream run. */
export interface StreamResult {
  readonly name: string;
  readonly kind: Target['kind'];
  readonly workload: 'producer' | 'exchange';
  readonly compression: string;
  /** Batches (producer) or turns (exchange) per second. */
  readonly units_per_s: number;
  /** Payload MB/s (rows x row bytes; producer 16 B/row). */
  readonly mb_per_s: number;
  readonly errors: number;
  readonly server_cpu_pct: number;
  /** Server CPU µs per batch or turn. */
  readonly server_cpu_us_per_unit: number;
  readonly load_cpu_pct: number;
  readonly load_cpu_us_per_unit: number;
  readonly other_cpu_pct: number;
}

interface LoadMark { readonly units: number; readonly bytes: number; readonly errors: number; readonly t_ms: number; readonly cpu_us: number }


const streamRun = async (t: Target, workload: 'producer' | 'exchange', compression: string, o: HttpRpcOptions, log: (s: string) => void): Promise<StreamResult> => {
  const server = await startRpcServer(t);
  try {
    const streams = workload === 'producer' ? o.producerStreams : o.exchangeStreams;
    const rows = workload === 'producer' ? o.producerRows : o.exchangeRows;
    log(`http-rpc ${workload} (${compression}): ${t.name}: ${streams} streams x ${fmt(rows)} rows, ${o.streamWarmupSeconds} s warm-up, ${o.streamSeconds} s window`);
    const load = new LoadProcess<LoadMark>(spawn(process.execPath,
      [LOAD, '--url', `http://127.0.0.1:${server.port}`, '--workload', workload, '--streams', String(streams), '--rows', String(rows), '--client', o.streamClient],
      { stdio: ['pipe', 'pipe', 'inherit'] }));
    try {
      const ready = await load.next(30_000);
      if (!ready.includes('"ready"')) throw new Error(`load process: unexpected line ${ready}`);
      await sleep(o.streamWarmupSeconds * 1000);
      const pid = server.child.pid!;
      const s0 = { t: performance.now(), ticks: processTicks(pid), machine: machineBusyTicks() };
      const m0 = await load.mark();
      await sleep(o.streamSeconds * 1000);
      const s1 = { t: performance.now(), ticks: processTicks(pid), machine: machineBusyTicks() };
      const m1 = await load.mark();
      const seconds = (s1.t - s0.t) / 1000;
      const loadSeconds = (m1.t_ms - m0.t_ms) / 1000;
      const units = m1.units - m0.units;
      const serverCpuUs = ((s1.ticks - s0.ticks) / CLK_TCK) * 1e6;
      const loadCpuUs = m1.cpu_us - m0.cpu_us;
      const server_cpu_pct = (serverCpuUs / 1e6 / seconds) * 100;
      const load_cpu_pct = (loadCpuUs / 1e6 / loadSeconds) * 100;
      return {
        name: t.name, kind: t.kind, workload, compression,
        units_per_s: units / loadSeconds,
        mb_per_s: (m1.bytes - m0.bytes) / 1e6 / loadSeconds,
        errors: m1.errors,
        server_cpu_pct,
        server_cpu_us_per_unit: serverCpuUs / units,
        load_cpu_pct,
        load_cpu_us_per_unit: loadCpuUs / units,
        other_cpu_pct: Math.max(0, (((s1.machine - s0.machine) / CLK_TCK / seconds) * 100) - server_cpu_pct - load_cpu_pct),
      };
    } finally {
      await load.stop();
    }
  } finally {
    await stopServer(server.child);
  }
};

const streamTable = (results: readonly StreamResult[], o: HttpRpcOptions): string[] => {
  const producer = results.filter((r) => r.workload === 'producer');
  const exchange = results.filter((r) => r.workload === 'exchange');
  const row = (r: StreamResult): string =>
    `${`${r.name}, ${r.compression}`.padEnd(52)} ${fmt(r.mb_per_s, 1).padStart(8)} ${fmt(r.units_per_s).padStart(9)} ${fmt(r.errors).padStart(6)} ` +
    `${`${fmt(r.server_cpu_pct)}%`.padStart(10)} ${fmt(r.server_cpu_us_per_unit).padStart(9)} ${`${fmt(r.load_cpu_pct)}%`.padStart(9)} ${fmt(r.load_cpu_us_per_unit).padStart(9)} ${`${fmt(r.other_cpu_pct)}%`.padStart(7)}`;
  const head = (unit: string): string =>
    `${'server, compression'.padEnd(52)} ${'MB/s'.padStart(8)} ${`${unit}/s`.padStart(9)} ${'errors'.padStart(6)} ${'server CPU'.padStart(10)} ${`us/${unit}`.padStart(9)} ${'load CPU'.padStart(9)} ${`us/${unit}`.padStart(9)} ${'others'.padStart(7)}`;
  const lines: string[] = [];
  const ratio = (list: readonly StreamResult[], compression: string, key: 'mb_per_s' | 'units_per_s', front = false): number => {
    const a = list.find((r) => r.kind === 'ours' && mainFront(r) === front && !sabHop(r) && r.compression.startsWith(compression));
    const b = list.find((r) => r.kind === 'peer' && r.compression.startsWith(compression));
    return a === undefined || b === undefined ? Number.NaN : a[key] / b[key];
  };
  /** The SAB hop's rate over the MessagePort hop's (2 workers, the main front end). */
  const sabRatio = (list: readonly StreamResult[], key: 'mb_per_s' | 'units_per_s'): number => {
    const a = list.find((r) => r.kind === 'ours' && sabHop(r));
    const b = list.find((r) => r.kind === 'ours' && !sabHop(r) && mainFront(r) && r.compression === a?.compression);
    return a === undefined || b === undefined ? Number.NaN : a[key] / b[key];
  };
  if (producer.length > 0) {
    lines.push(
      `producer: ${o.producerStreams} concurrent produce streams, ${fmt(o.producerRows)} rows {i: int64, x: float64} per batch (${fmt((o.producerRows * 16) / 1e6, 1)} MB of payload), ` +
        `one /init then one /exchange per batch echoing the tokens; the same load process against both servers (bench/http-load.ts --client ${o.streamClient}, one keep-alive connection per stream, ` +
        'connected before the window: it starts once every stream has had its first answer and the warm-up is over); ' +
        `${o.streamWarmupSeconds} s warm-up, ${o.streamSeconds} s window; MB = payload bytes (rows x 16) / 1e6`,
      head('batch'),
      ...producer.map(row),
      `ours / peer: uncompressed ${fmt(ratio(producer, 'off', 'mb_per_s'), 1)}x MB/s (target >= 5x); compressed ${fmt(ratio(producer, 'on', 'mb_per_s'), 1)}x (target >= 20x; ours zstd vs the peer's gzip, the only codec it can encode on Node 20)`,
      `ours (main front end) / peer: uncompressed ${fmt(ratio(producer, 'off', 'mb_per_s', true), 1)}x MB/s; compressed ${fmt(ratio(producer, 'on', 'mb_per_s', true), 1)}x`,
      `SAB hop / MessagePort hop, uncompressed: ${fmt(sabRatio(producer, 'mb_per_s'), 2)}x MB/s (bodies of 64 KiB or more move over the port on both)`,
      '(handlers: the peer\'s produce, test/interop/peer-bench-protocol.mjs as the stdio part uses it, builds its two columns anew for every batch, about 2 ms per 100,000 rows here; ours builds them once and emits them again)',
    );
  }
  if (exchange.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push(
      `exchange: ${o.exchangeStreams} concurrent double(factor 2) streams, one ${o.exchangeRows}-row batch {x: float64} per turn, each stream's turns one after another, every answer checked; ` +
        `compression off on both servers; same load process as the producer; MB = input payload bytes`,
      head('turn'),
      ...exchange.map(row),
      `ours / peer: ${fmt(ratio(exchange, 'off', 'units_per_s'), 1)}x round trips/s (target >= 10x); main front end: ${fmt(ratio(exchange, 'off', 'units_per_s', true), 1)}x; SAB hop / MessagePort hop: ${fmt(sabRatio(exchange, 'units_per_s'), 2)}x`,
    );
  }
  lines.push('("load CPU": the client process, % of one core; "others": the rest of the machine\'s busy time)');
  return lines;
};

// ---------------------------------------------------------------------------
// 4. CPU profile of our server under the unary load
// ---------------------------------------------------------------------------

/** The profile breakdown of our 2-worker server under wrk, per call. */
const profileUnary = async (files: UnaryFiles, o: HttpRpcOptions, log: (s: string) => void, extra: readonly string[] = []): Promise<{ text: string; calls_per_s: number }> => {
  const dir = mkdtempSync(join(tmpdir(), 'vgi-http-prof-'));
  try {
    const t = ours(2, extra);
    const { server, run } = await unaryRun({ ...t, name: `${t.name} under --cpu-prof` }, files, o, log, ['--cpu-prof', '--cpu-prof-dir', dir]);
    await stopServer(server.child);
    const threads = profileFiles([dir]).map((f) => readProfile(f, { fromUs: run.fromUs, toUs: run.toUs }));
    const calls = run.report.requests;
    return {
      calls_per_s: run.report.rps,
      text: [
        `where the CPU of a unary call goes: ${t.name}, run again under node --cpu-prof (one profile per thread) with the same wrk load: ${fmt(run.report.rps)} calls/s, ` +
          `server CPU ${fmt(run.serverCpuPct)}%; self time of the samples inside the measured ${o.seconds} s, by stage and by source file (natives charged to their JS caller), divided by the ${fmt(calls)} calls. ` +
          'V8 samples on a wall clock: a thread preempted inside a system call that wakes another thread (a socket write waking wrk, a postMessage waking a worker) is counted there, ' +
          'so on a busy 2-core machine those calls read larger than their CPU; the /proc figures above are the CPU truth',
        summarise(threads, calls, 10),
      ].join('\n'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

// ---------------------------------------------------------------------------

/** Everything measured. */
export interface HttpRpcResults {
  readonly unary?: UnaryResult[];
  readonly streams?: StreamResult[];
  readonly profile_calls_per_s?: number;
  readonly profile_main_front_calls_per_s?: number;
}

/** Run the selected parts; results and a printable report. */
export const measureHttpRpc = async (log: (s: string) => void, options: Partial<HttpRpcOptions> = {}): Promise<{ results: HttpRpcResults; table: string }> => {
  const o = { ...DEFAULTS, ...options };
  const missing = wrkMissing();
  const dir = mkdtempSync(join(tmpdir(), 'vgi-http-rpc-'));
  const lines: string[] = ['HTTP RPC (bench/http-rpc.ts): ours vs the peer @query-farm/vgi-rpc 0.25.4, same machine, same run'];
  const results: { -readonly [K in keyof HttpRpcResults]: HttpRpcResults[K] } = {};
  try {
    const files = prepareUnary(dir);
    if (o.parts.includes('unary')) {
      if (missing !== undefined) lines.push(`unary skipped: ${missing}`);
      else {
        results.unary = await measureUnary(files, o, log);
        lines.push('', ...unaryTable(results.unary, o));
      }
    }
    const streams: StreamResult[] = [];
    if (o.parts.includes('producer')) {
      for (const [compression, flags] of [['off', ['--no-compression']], ['on (defaults)', []]] as const) {
        streams.push(await streamRun(ours(2, flags), 'producer', compression, o, log));
        streams.push(await streamRun(ours(2, [...flags, ...MAIN_FRONT]), 'producer', compression, o, log));
        if (compression === 'off') streams.push(await streamRun(ours(2, [...flags, ...SAB_HOP]), 'producer', compression, o, log));
        streams.push(await streamRun(peer(flags), 'producer', compression, o, log));
      }
    }
    if (o.parts.includes('exchange')) {
      streams.push(await streamRun(ours(2, ['--no-compression']), 'exchange', 'off', o, log));
      streams.push(await streamRun(ours(2, ['--no-compression', ...MAIN_FRONT]), 'exchange', 'off', o, log));
      streams.push(await streamRun(ours(2, ['--no-compression', ...SAB_HOP]), 'exchange', 'off', o, log));
      streams.push(await streamRun(peer(['--no-compression']), 'exchange', 'off', o, log));
    }
    if (streams.length > 0) {
      results.streams = streams;
      lines.push('', ...streamTable(streams, o));
    }
    if (o.parts.includes('profile') && missing === undefined) {
      const prof = await profileUnary(files, o, log);
      results.profile_calls_per_s = prof.calls_per_s;
      lines.push('', prof.text);
      const front = await profileUnary(files, o, log, MAIN_FRONT);
      results.profile_main_front_calls_per_s = front.calls_per_s;
      lines.push('', front.text);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { results, table: lines.join('\n') };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--only');
  const parts = at < 0 ? DEFAULTS.parts : (process.argv[at + 1] ?? '').split(',') as HttpRpcOptions['parts'];
  const streamClient = process.argv.includes('--fetch') ? 'fetch' : 'raw';
  const { results, table } = await measureHttpRpc((s) => process.stderr.write(`${s}\n`), { parts, streamClient });
  process.stdout.write(`${table}\n${JSON.stringify(results)}\n`);
}
