/**
 * Unix-socket benchmark: unary `add` calls/s with 32 concurrent client
 * connections against our server with pools of 0 (main thread), 1 and 2
 * worker threads, and against the peer's unix server
 * (bench/peer-unix-server.mjs, @query-farm/vgi-rpc 0.25.4 `serveUnix`).
 *
 * Each server runs in its own process on a fresh socket path. The load comes
 * from separate processes, so the process that measures does no client
 * work. The client shares the machine's two cores with the server, so it
 * must cost as little as it can: by default the generators are
 * bench/unix-load.c (compiled with the system's `cc` at the start of the
 * run; epoll, one write and one read per call), which replay the request
 * our client encodes for add(1, 2) and frame the responses without decoding
 * them; a typed call checks each server's answer first. Without a C
 * compiler (or with `--node`) the generators are bench/unix-load.ts doing
 * the same in Node, and `--typed` drives the load through our typed client. After a
 * warm-up, every generator reports its call count at the start and the end
 * of the window ("mark"), and the server's CPU time is read from
 * /proc/<pid>/stat (and per thread from /proc/<pid>/task/<tid>/stat) at the
 * same two moments. The machine's total CPU use (/proc/stat) is read too, so
 * CPU taken by other processes on a shared machine is visible next to the
 * numbers it disturbs. The servers are measured in interleaved rounds and
 * the best round of each is used for the ratios.
 *
 * Standalone: node dist/bench/unix.js [--rounds N] [--window S] [--inflight W]
 *   [--connections K] [--generators G] [--node | --typed]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, RpcConnection } from '../src/index.js';
import { encodeRequest } from '../src/client/connection.js';
import { connectUnix } from '../transports/unix/unix-client.js';
import { Bench } from '../examples/bench/bench-service.js';
import { CLK_TCK, machineBusyTicks, parseStat } from './proc-cpu.js';
import { LoadProcess } from './load-process.js';
import { compileTool } from './native-tool.js';

/** How the load is shaped. */
export interface UnixLoadOptions {
  /** Client connections in total (split across the generator processes). */
  readonly connections: number;
  /** Calls in flight on each connection. */
  readonly inflight: number;
  /** Load generator processes (default: 1 native, whose single epoll loop keeps 32 connections busy with about half a core; 2 in Node). */
  readonly generators?: number;
  /**
   * The client the generators use: `native` (bench/unix-load.c), `replay`
   * (the same in Node: pre-encoded requests, framed responses) or `typed`
   * (our typed client).
   */
  readonly client: 'native' | 'replay' | 'typed';
  /** Warm-up before the window (ms). */
  readonly warmupMs: number;
  /** Measured window (ms). */
  readonly windowMs: number;
  /** Rounds over all servers (interleaved); the best round of each server is used for the ratios. */
  readonly rounds: number;
}

export const defaultUnixLoad: UnixLoadOptions = { connections: 32, inflight: 1, client: 'native', warmupMs: 1500, windowMs: 4000, rounds: 2 };

/** One thread's CPU use over the window. */
export interface ThreadCpu {
  readonly tid: number;
  readonly name: string;
  /** % of one core. */
  readonly pct: number;
}

/** One server measured once. */
export interface UnixSample {
  readonly calls_per_s: number;
  readonly errors: number;
  /** Server process CPU over the window, % of one core (200 = both cores of a 2-core machine). */
  readonly server_cpu_pct: number;
  /** The server's busiest threads. */
  readonly threads: readonly ThreadCpu[];
  /** The load generator processes together, % of one core. */
  readonly load_cpu_pct: number;
  /** Every other process on the machine, % of one core. */
  readonly other_cpu_pct: number;
  /** Server CPU microseconds per call. */
  readonly server_cpu_us_per_call: number;
  /** Client (load generator) CPU microseconds per call. */
  readonly load_cpu_us_per_call: number;
}

/** A server under test and its samples, one per round. */
export interface UnixResult {
  readonly name: string;
  readonly workers: number | 'peer';
  readonly samples: readonly UnixSample[];
  readonly best: UnixSample;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const WORKER = join(HERE, '../examples/bench/worker.js');
const LOAD = join(HERE, 'unix-load.js');
const PEER_SERVER = join(HERE, '../../bench/peer-unix-server.mjs');

/** The native generator, compiled for this run, and the request it replays. */
interface NativeLoad {
  readonly binary: string;
  readonly requestFile: string;
}

/** Compile bench/unix-load.c and write the request it replays; undefined (with the reason logged) when there is no C compiler. */
const prepareNative = (log: (s: string) => void): NativeLoad | undefined => {
  const dir = mkdtempSync(join(tmpdir(), 'vgi-bench-load-'));
  const built = compileTool('unix-load', dir);
  if ('error' in built) {
    log(`unix: ${built.error}; using the Node generator`);
    return undefined;
  }
  const { binary } = built;
  const parts: Uint8Array[] = [];
  encodeRequest(parts, { protocol: 'Bench', protocolVersion: undefined }, 'add', Bench.methods.add, { a: 1, b: 2 });
  const requestFile = join(dir, 'request.bin');
  writeFileSync(requestFile, Buffer.concat(parts));
  return { binary, requestFile };
};

/** One typed `add(1, 2)` on a fresh connection: the native generator does not decode answers, so each server is checked once here. */
const checkAnswer = async (path: string): Promise<void> => {
  const conn = new RpcConnection(connectUnix(path));
  try {
    const r = await Client.promises(Bench, conn).add({ a: 1, b: 2 });
    if (r !== 3) throw new Error(`add(1, 2) returned ${r}`);
  } finally {
    await conn.close();
  }
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface CpuSnapshot {
  readonly t: number;
  readonly process: number;
  readonly threads: Map<number, { name: string; ticks: number }>;
  /** Busy ticks of the whole machine (all cores). */
  readonly machineBusy: number;
}

const snapshot = (pid: number): CpuSnapshot => {
  const t = performance.now();
  const proc = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks;
  const threads = new Map<number, { name: string; ticks: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread exited
    }
  }
  return { t, process: proc, threads, machineBusy: machineBusyTicks() };
};

/** Resolves with the first stdout line of `child` matching `test`. */
const lineMatching = (child: ChildProcess, test: (line: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> =>
  new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => { rl.close(); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
    const onExit = (code: number | null): void => { clearTimeout(timer); rl.close(); reject(new Error(`${what}: the process exited (${code}) first`)); };
    child.once('exit', onExit);
    rl.on('line', (line) => {
      if (!test(line)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      rl.close();
      child.stdout!.resume(); // anything printed later is discarded, never left to block the child
      resolve(line);
    });
  });

interface Mark { readonly calls: number; readonly errors: number; readonly t_ms: number; readonly cpu_us: number }


const stopServer = async (server: ChildProcess, path: string): Promise<void> => {
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (existsSync(path)) unlinkSync(path);
};

/** Measure one server once. */
const measureOne = async (command: readonly string[], path: string, load: UnixLoadOptions & { readonly generators: number }, native: NativeLoad | undefined): Promise<UnixSample> => {
  if (existsSync(path)) unlinkSync(path);
  const server = spawn(process.execPath, [...command, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The server's diagnostics, minus the expected notice of the drain this benchmark starts with SIGTERM.
  createInterface({ input: server.stderr! }).on('line', (line) => {
    if (!/SIGTERM received, draining/.test(line)) process.stderr.write(`  server: ${line}\n`);
  });
  try {
    await lineMatching(server, (l) => l.startsWith('UNIX:'), `${command.join(' ')} to listen`);
    if (native !== undefined) await checkAnswer(path);
    const per = Math.ceil(load.connections / load.generators);
    const gens = Array.from({ length: load.generators }, (_, g) => {
      const k = Math.min(per, load.connections - g * per);
      const child = native !== undefined
        ? spawn(native.binary, [path, native.requestFile, String(k), String(load.inflight)], { stdio: ['pipe', 'pipe', 'inherit'] })
        : spawn(process.execPath, [LOAD, '--path', path, '--connections', String(k), '--inflight', String(load.inflight), '--client', load.client], { stdio: ['pipe', 'pipe', 'inherit'] });
      return new LoadProcess<Mark>(child);
    });
    try {
      for (const g of gens) {
        const ready = await g.next(20_000);
        if (!ready.includes('"ready"')) throw new Error(`load generator: unexpected line ${ready}`);
      }
      await sleep(load.warmupMs);
      const s0 = snapshot(server.pid!);
      const m0 = await Promise.all(gens.map((g) => g.mark()));
      await sleep(load.windowMs);
      const s1 = snapshot(server.pid!);
      const m1 = await Promise.all(gens.map((g) => g.mark()));
      const seconds = (s1.t - s0.t) / 1000;
      let rate = 0;
      let calls = 0;
      let loadCpuUs = 0;
      let errors = 0;
      m0.forEach((a, i) => {
        const b = m1[i]!;
        rate += (b.calls - a.calls) / ((b.t_ms - a.t_ms) / 1000);
        calls += b.calls - a.calls;
        loadCpuUs += b.cpu_us - a.cpu_us;
        errors += b.errors - a.errors;
      });
      const pct = (ticks: number): number => (ticks / CLK_TCK / seconds) * 100;
      const serverTicks = s1.process - s0.process;
      const threads: ThreadCpu[] = [];
      for (const [tid, b] of s1.threads) {
        const a = s0.threads.get(tid);
        const d = b.ticks - (a?.ticks ?? 0);
        if (d > 0) threads.push({ tid, name: tid === server.pid ? 'main' : `t${tid}`, pct: pct(d) });
      }
      threads.sort((x, y) => y.pct - x.pct);
      const load_cpu_pct = (loadCpuUs / 1e6 / seconds) * 100;
      const server_cpu_pct = pct(serverTicks);
      return {
        calls_per_s: rate,
        errors,
        server_cpu_pct,
        threads: threads.filter((t) => t.pct >= 1),
        load_cpu_pct,
        other_cpu_pct: Math.max(0, pct(s1.machineBusy - s0.machineBusy) - server_cpu_pct - load_cpu_pct),
        server_cpu_us_per_call: ((serverTicks / CLK_TCK) * 1e6) / calls,
        load_cpu_us_per_call: loadCpuUs / calls,
      };
    } finally {
      await Promise.all(gens.map((g) => g.stop()));
    }
  } finally {
    await stopServer(server, path);
  }
};

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The busiest threads of a sample: `main 34%, t5101 26%, ...`. */
const threadList = (s: UnixSample, n: number): string => s.threads.slice(0, n).map((x) => `${x.name} ${fmt(x.pct)}%`).join(', ');

/** The servers under test: pools of 0, 1 and 2 (workers accepting), the same pools relaying through the main thread, and the peer. */
const targets = (): { name: string; workers: number | 'peer'; relay: boolean; command: string[] }[] => [
  ...[0, 1, 2].map((n) => ({ name: `ours, ${n === 0 ? 'pool 0 (main thread)' : `pool ${n}`}`, workers: n, relay: false, command: [WORKER, '--workers', String(n), '--unix'] })),
  ...[1, 2].map((n) => ({ name: `ours, pool ${n}, relay`, workers: n, relay: true, command: [WORKER, '--workers', String(n), '--accept', 'relay', '--unix'] })),
  { name: 'peer 0.25.4 serveUnix', workers: 'peer' as const, relay: false, command: [PEER_SERVER, '--unix'] },
];

const clientDescription = (client: UnixLoadOptions['client']): string =>
  client === 'typed' ? 'our typed client in bench/unix-load.js'
    : client === 'replay' ? 'replay client in bench/unix-load.js: requests pre-encoded by our client, responses framed, not decoded'
      : 'native replay client bench/unix-load.c: requests pre-encoded by our client, responses framed, not decoded; each server\'s answer checked once with our typed client';

/** Run every server `load.rounds` times (interleaved), logging each sample; returns the results and a printable table. */
export const measureUnix = async (log: (s: string) => void, wanted: UnixLoadOptions = defaultUnixLoad): Promise<{ results: UnixResult[]; table: string }> => {
  const native = wanted.client === 'native' ? prepareNative(log) : undefined;
  const client = wanted.client === 'native' && native === undefined ? 'replay' : wanted.client;
  const load: UnixLoadOptions & { readonly generators: number } = { ...wanted, client, generators: wanted.generators ?? (client === 'native' ? 1 : 2) };
  log(
    `unix: ${load.connections} connections (${clientDescription(load.client)}; ` +
      `${load.generators} load processes), ` +
      `${load.inflight} \`add\` call(s) in flight each; per server: fresh socket, ${load.warmupMs / 1000} s warm-up, ` +
      `${load.windowMs / 1000} s window; CPU from /proc; ${load.rounds} interleaved round(s), best round used for ratios`,
  );
  const list = targets();
  const samples = new Map<string, UnixSample[]>(list.map((t) => [t.name, []]));
  for (let round = 1; round <= load.rounds; round++) {
    for (const t of list) {
      const path = join(tmpdir(), `vgi-bench-${process.pid}-${t.workers}.sock`);
      const s = await measureOne(t.command, path, load, native);
      samples.get(t.name)!.push(s);
      const threads = threadList(s, 4);
      log(
        `  round ${round} ${t.name}: ${fmt(s.calls_per_s)} calls/s; server CPU ${fmt(s.server_cpu_pct)}% [${threads}]; ` +
          `load generators ${fmt(s.load_cpu_pct)}%; other processes ${fmt(s.other_cpu_pct)}%` + (s.errors > 0 ? `; ${s.errors} ERRORS` : ''),
      );
    }
  }
  const results: UnixResult[] = list.map((t) => {
    const ss = samples.get(t.name)!;
    const best = ss.reduce((a, b) => (b.calls_per_s > a.calls_per_s ? b : a));
    return { name: t.name, workers: t.workers, samples: ss, best };
  });
  const one = results.find((r) => r.workers === 1 && !list.find((t) => t.name === r.name)!.relay)!.best.calls_per_s;
  const peer = results.find((r) => r.workers === 'peer')!.best.calls_per_s;
  const header = `${'server'.padEnd(27)} ${'calls/s'.padStart(8)} ${'each round'.padStart(16)} ${'srv CPU%'.padStart(8)} ${'srv us/call'.padStart(11)} ${'load CPU%'.padStart(9)} ${'load us/call'.padStart(12)} ${'others CPU%'.padStart(11)} ${'vs 1 worker'.padStart(11)} ${'vs peer'.padStart(8)}`;
  const rows = results.map((r) => {
    const b = r.best;
    return `${r.name.padEnd(27)} ${fmt(b.calls_per_s).padStart(8)} ${r.samples.map((x) => fmt(x.calls_per_s)).join(' / ').padStart(16)} ${fmt(b.server_cpu_pct).padStart(8)} ${fmt(b.server_cpu_us_per_call, 1).padStart(11)} ${fmt(b.load_cpu_pct).padStart(9)} ${fmt(b.load_cpu_us_per_call, 1).padStart(12)} ${fmt(b.other_cpu_pct).padStart(11)} ${`${fmt(b.calls_per_s / one, 2)}x`.padStart(11)} ${`${fmt(b.calls_per_s / peer, 1)}x`.padStart(8)}`;
  });
  const table = [
    `unix socket: ${load.connections} connections x ${load.inflight} unary add in flight, ${load.client} client in ${load.generators} processes; best of ${load.rounds} round(s); "relay" = the main thread accepts and forwards bytes to the workers (--accept relay)`,
    'CPU% = % of one core over the window (2 cores = 200%) used by the server process, by the load generators, by every other process on the machine; us/call = CPU time per call',
    header,
    ...rows,
    'busiest server threads in the best round (main = the thread that owns the sockets; with a pool, the next busiest are the workers):',
    ...results.map((r) => `  ${r.name}: ${threadList(r.best, 5)}`),
  ].join('\n');
  return { results, table };
};

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const argv = process.argv.slice(2);
  const num = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const load: UnixLoadOptions = {
    ...defaultUnixLoad,
    rounds: num('rounds', defaultUnixLoad.rounds),
    inflight: num('inflight', defaultUnixLoad.inflight),
    ...(argv.includes('--generators') ? { generators: num('generators', 1) } : {}),
    connections: num('connections', defaultUnixLoad.connections),
    client: argv.includes('--typed') ? 'typed' : argv.includes('--node') ? 'replay' : 'native',
    windowMs: num('window', defaultUnixLoad.windowMs / 1000) * 1000,
  };
  const { results, table } = await measureUnix((s) => process.stderr.write(`${s}\n`), load);
  process.stdout.write(`${table}\n${JSON.stringify({ unix: results })}\n`);
}
