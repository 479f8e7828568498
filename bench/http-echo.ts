/**
 * The HTTP floor: bare POST echo requests/s of each HTTP engine
 * (uWebSockets.js and node:http, transports/http), with nothing of vgi-rpc
 * in between, so later HTTP figures have a ceiling to be read against.
 *
 * Each engine serves from a child process of its own
 * (bench/http-echo-server.ts: a synchronous handler answering every request
 * with its body). The load is wrk (/usr/bin/wrk) on 127.0.0.1: a Lua script
 * POSTs a 64-byte body; 64 connections on 2 threads; a 1 s warm-up run,
 * then a 5 s measured run. The server's CPU time is read from
 * /proc/<pid>/stat just before and after the measured run; wrk's own CPU is
 * what /usr/bin/time reports for it; the machine's busy time (/proc/stat)
 * over the same window shows what other processes took (the machine has 2
 * cores, shared). One round per engine: a floor to compare against, not a
 * contest.
 *
 * Standalone: node dist/bench/http-echo.js
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { uwsStatus } from '../transports/http/uws-engine.js';
import { type WrkLoad, measuredRun, warmUp, wrkArgs, wrkMissing } from './wrk.js';

const SERVER = fileURLToPath(new URL('./http-echo-server.js', import.meta.url));

/** How the load is shaped (the defaults are the issue's). */
export interface HttpEchoOptions {
  readonly connections: number;
  readonly threads: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly bodyBytes: number;
}

const DEFAULTS: HttpEchoOptions = { connections: 64, threads: 2, warmupSeconds: 1, seconds: 5, bodyBytes: 64 };

/** One engine's measured run. */
export interface HttpEchoResult {
  readonly engine: 'uws' | 'node';
  readonly requests_per_s: number;
  readonly requests: number;
  readonly latency_p50_us: number;
  readonly latency_p99_us: number;
  /** Socket errors and non-2xx answers wrk counted (should be 0). */
  readonly errors: number;
  /** Server process CPU over the window, % of one core (200 = both cores). */
  readonly server_cpu_pct: number;
  readonly server_cpu_us_per_request: number;
  /** wrk's CPU (user+system) over its run, % of one core. */
  readonly wrk_cpu_pct: number;
  readonly wrk_cpu_us_per_request: number;
  /** Busy CPU of everything else on the machine over the window, % of one core. */
  readonly other_cpu_pct: number;
}

/**
 * Start `node args` in a child process (stdout piped, stderr inherited) and resolve with the child and the
 * first stdout line matching `ready` (its match); rejects when the child exits first or is not ready in 20 s.
 */
export const startUntilLine = (args: readonly string[], ready: RegExp, what: string): Promise<{ child: ChildProcess; match: RegExpExecArray }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => { child.kill(); reject(new Error(`${what} did not start`)); }, 20_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}) before listening`)); });
    rl.on('line', (line) => {
      const match = ready.exec(line);
      if (match === null) return;
      clearTimeout(timer);
      rl.close();
      child.stdout!.resume();
      resolve({ child, match });
    });
  });

/** Start one engine's echo server (bench/http-echo-server.ts) in a child process; resolves with the child and its port. */
export const startEchoServer = async (engine: 'uws' | 'node'): Promise<{ child: ChildProcess; port: number }> => {
  const { child, match } = await startUntilLine([SERVER, engine], /^HTTP (\w+) (\d+)$/, `the ${engine} echo server`);
  if (match[1] !== engine) {
    child.kill();
    throw new Error(`asked for ${engine}, the server runs ${match[1]}`);
  }
  return { child, port: Number(match[2]) };
};

/** Measure one engine: check an echo, warm up, then the measured wrk run with CPU read around it. */
const measureEngine = async (engine: 'uws' | 'node', o: HttpEchoOptions, script: string, log: (s: string) => void): Promise<HttpEchoResult> => {
  const { child, port } = await startEchoServer(engine);
  try {
    const url = `http://127.0.0.1:${port}/echo`;
    const probe = 'x'.repeat(o.bodyBytes);
    const answer = await fetch(url, { method: 'POST', body: probe });
    const echoed = await answer.text();
    if (answer.status !== 200 || echoed !== probe) throw new Error(`the ${engine} server did not echo (status ${answer.status})`);
    const load: WrkLoad = { threads: o.threads, connections: o.connections, script, url };
    log(`http-echo ${engine}: warm-up ${o.warmupSeconds} s`);
    await warmUp(load, o.warmupSeconds);
    log(`http-echo ${engine}: wrk ${wrkArgs(load, o.seconds).slice(0, 8).join(' ')} (${o.bodyBytes}-byte POST bodies)`);
    const r = await measuredRun(load, o.seconds, child.pid!);
    const w = r.report;
    return {
      engine,
      requests_per_s: w.rps,
      requests: w.requests,
      latency_p50_us: w.p50,
      latency_p99_us: w.p99,
      errors: w.errors,
      server_cpu_pct: r.serverCpuPct,
      server_cpu_us_per_request: (r.serverCpuSeconds * 1e6) / w.requests,
      wrk_cpu_pct: r.wrkCpuPct,
      wrk_cpu_us_per_request: (r.wrkCpuSeconds * 1e6) / w.requests,
      other_cpu_pct: r.otherCpuPct,
    };
  } finally {
    child.kill('SIGTERM');
  }
};

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Measure both engines (uWS only where its native binary loads); the results and a printable table. */
export const measureHttpEcho = async (log: (s: string) => void, options: Partial<HttpEchoOptions> = {}): Promise<{ results: HttpEchoResult[]; table: string }> => {
  const o = { ...DEFAULTS, ...options };
  const head = `HTTP floor (bench/http-echo.ts): bare POST echo, ${o.bodyBytes}-byte bodies, wrk ${o.threads} threads / ${o.connections} connections on 127.0.0.1, ` +
    `${o.seconds} s after a ${o.warmupSeconds} s warm-up, one run per engine, each server alone in its own process`;
  const missing = wrkMissing();
  if (missing !== undefined) return { results: [], table: `${head}\nskipped: ${missing}` };
  const uws = uwsStatus();
  const engines: Array<'uws' | 'node'> = uws.available ? ['uws', 'node'] : ['node'];
  const dir = mkdtempSync(join(tmpdir(), 'vgi-http-echo-'));
  const script = join(dir, 'post.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = string.rep("x", ${o.bodyBytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
  const results: HttpEchoResult[] = [];
  try {
    for (const engine of engines) results.push(await measureEngine(engine, o, script, log));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    head,
    `${'engine'.padEnd(8)} ${'req/s'.padStart(10)} ${'p50 us'.padStart(8)} ${'p99 us'.padStart(8)} ${'errors'.padStart(7)} ${'server CPU'.padStart(11)} ${'us/req'.padStart(7)} ${'wrk CPU'.padStart(8)} ${'us/req'.padStart(7)} ${'others'.padStart(7)}`,
    ...results.map((r) =>
      `${r.engine.padEnd(8)} ${fmt(r.requests_per_s).padStart(10)} ${fmt(r.latency_p50_us).padStart(8)} ${fmt(r.latency_p99_us).padStart(8)} ${fmt(r.errors).padStart(7)} ` +
      `${`${fmt(r.server_cpu_pct)}%`.padStart(11)} ${fmt(r.server_cpu_us_per_request, 1).padStart(7)} ${`${fmt(r.wrk_cpu_pct)}%`.padStart(8)} ${fmt(r.wrk_cpu_us_per_request, 1).padStart(7)} ${`${fmt(r.other_cpu_pct)}%`.padStart(7)}`),
    '(CPU in % of one core, 200% = both cores; "others" is the rest of the machine\'s busy time over the window, from /proc/stat)',
  ];
  if (!uws.available) lines.push(`uWebSockets.js not measured: ${uws.reason}`);
  return { results, table: lines.join('\n') };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { results, table } = await measureHttpEcho((s) => process.stderr.write(`${s}\n`));
  process.stdout.write(`${table}\n${JSON.stringify(results)}\n`);
}
